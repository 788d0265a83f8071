"""The glue names of the judge-failures experiment (:mod:`srlm_core.experiments.judge_failures`)
per population arm, scalar case, vanishing share, noisy sample size and predicted bias
displacement, written out as literals (the book cites each name as a literal string).
"""

#: The quantities of a population arm
#: (:func:`~srlm_core.experiments.judge_failures_analysis.arm_numbers`), in the order of the rows of
#: :data:`ARM_NAMES`; the last three only where the arm has a closed form.
ARM_FIELDS = (
    "converged", "contracts", "rate", "rate_lo", "rate_hi", "rate_pred", "rate_gap",
    "rate_verdict", "radius", "unorm", "side", "dist", "dist_lo", "dist_hi", "kl", "kl_lo",
    "kl_hi", "dist_pred", "kl_pred", "dist_gap",
)
#: The glue names of each population arm of the book's run.
ARM_NAMES = {
    "theory": ("converged_theory", "contracts_theory", "rate_theory", "rate_theory_lo",
               "rate_theory_hi", "rate_pred_theory", "rate_gap_theory", "rate_verdict_theory",
               "radius_theory", "unorm_theory", "side_theory", "dist_theory", "dist_theory_lo",
               "dist_theory_hi", "kl_theory", "kl_theory_lo", "kl_theory_hi", "dist_pred_theory",
               "kl_pred_theory", "dist_gap_theory"),
    "bias_a50": ("converged_bias_a50", "contracts_bias_a50", "rate_bias_a50", "rate_bias_a50_lo",
                 "rate_bias_a50_hi", "rate_pred_bias_a50", "rate_gap_bias_a50",
                 "rate_verdict_bias_a50", "radius_bias_a50", "unorm_bias_a50", "side_bias_a50",
                 "dist_bias_a50", "dist_bias_a50_lo", "dist_bias_a50_hi", "kl_bias_a50",
                 "kl_bias_a50_lo", "kl_bias_a50_hi", "dist_pred_bias_a50", "kl_pred_bias_a50",
                 "dist_gap_bias_a50"),
    "bias_a25": ("converged_bias_a25", "contracts_bias_a25", "rate_bias_a25", "rate_bias_a25_lo",
                 "rate_bias_a25_hi", "rate_pred_bias_a25", "rate_gap_bias_a25",
                 "rate_verdict_bias_a25", "radius_bias_a25", "unorm_bias_a25", "side_bias_a25",
                 "dist_bias_a25", "dist_bias_a25_lo", "dist_bias_a25_hi", "kl_bias_a25",
                 "kl_bias_a25_lo", "kl_bias_a25_hi", "dist_pred_bias_a25", "kl_pred_bias_a25",
                 "dist_gap_bias_a25"),
    "bias_a10": ("converged_bias_a10", "contracts_bias_a10", "rate_bias_a10", "rate_bias_a10_lo",
                 "rate_bias_a10_hi", "rate_pred_bias_a10", "rate_gap_bias_a10",
                 "rate_verdict_bias_a10", "radius_bias_a10", "unorm_bias_a10", "side_bias_a10",
                 "dist_bias_a10", "dist_bias_a10_lo", "dist_bias_a10_hi", "kl_bias_a10",
                 "kl_bias_a10_lo", "kl_bias_a10_hi", "dist_pred_bias_a10", "kl_pred_bias_a10",
                 "dist_gap_bias_a10"),
    "saturating": ("converged_saturating", "contracts_saturating", "rate_saturating",
                   "rate_saturating_lo", "rate_saturating_hi", "rate_pred_saturating",
                   "rate_gap_saturating", "rate_verdict_saturating", "radius_saturating",
                   "unorm_saturating", "side_saturating", "dist_saturating", "dist_saturating_lo",
                   "dist_saturating_hi", "kl_saturating", "kl_saturating_lo", "kl_saturating_hi"),
    "amplifying_weak": ("converged_amplifying_weak", "contracts_amplifying_weak",
                        "rate_amplifying_weak", "rate_amplifying_weak_lo",
                        "rate_amplifying_weak_hi", "rate_pred_amplifying_weak",
                        "rate_gap_amplifying_weak", "rate_verdict_amplifying_weak",
                        "radius_amplifying_weak", "unorm_amplifying_weak", "side_amplifying_weak",
                        "dist_amplifying_weak", "dist_amplifying_weak_lo",
                        "dist_amplifying_weak_hi", "kl_amplifying_weak", "kl_amplifying_weak_lo",
                        "kl_amplifying_weak_hi"),
    "amplifying_strong": ("converged_amplifying_strong", "contracts_amplifying_strong",
                          "rate_amplifying_strong", "rate_amplifying_strong_lo",
                          "rate_amplifying_strong_hi", "rate_pred_amplifying_strong",
                          "rate_gap_amplifying_strong", "rate_verdict_amplifying_strong",
                          "radius_amplifying_strong", "unorm_amplifying_strong",
                          "side_amplifying_strong", "dist_amplifying_strong",
                          "dist_amplifying_strong_lo", "dist_amplifying_strong_hi",
                          "kl_amplifying_strong", "kl_amplifying_strong_lo",
                          "kl_amplifying_strong_hi"),
    "confidence_noise": ("converged_confidence_noise", "contracts_confidence_noise",
                         "rate_confidence_noise", "rate_confidence_noise_lo",
                         "rate_confidence_noise_hi", "rate_pred_confidence_noise",
                         "rate_gap_confidence_noise", "rate_verdict_confidence_noise",
                         "radius_confidence_noise", "unorm_confidence_noise",
                         "side_confidence_noise", "dist_confidence_noise",
                         "dist_confidence_noise_lo", "dist_confidence_noise_hi",
                         "kl_confidence_noise", "kl_confidence_noise_lo", "kl_confidence_noise_hi"),
}
#: The glue names of each scalar case's numbers
#: (:func:`~srlm_core.experiments.judge_failures_analysis.scalar_numbers`).
SCALAR_NAMES = {
    "saturating": {"status": "scalar_saturating_status", "fixed": "scalar_saturating_fixed",
                   "fixed_pred": "scalar_saturating_fixed_pred", "rate": "scalar_saturating_rate",
                   "rate_pred": "scalar_saturating_rate_pred",
                   "fixed_gap_pct": "scalar_saturating_fixed_gap_pct",
                   "verdict": "scalar_saturating_verdict",
                   "rate_verdict": "scalar_saturating_rate_verdict"},
    "amplifying_weak": {"status": "scalar_amplifying_weak_status",
                        "fixed": "scalar_amplifying_weak_fixed",
                        "fixed_pred": "scalar_amplifying_weak_fixed_pred",
                        "rate": "scalar_amplifying_weak_rate",
                        "rate_pred": "scalar_amplifying_weak_rate_pred",
                        "fixed_gap_pct": "scalar_amplifying_weak_fixed_gap_pct",
                        "verdict": "scalar_amplifying_weak_verdict",
                        "rate_verdict": "scalar_amplifying_weak_rate_verdict",
                        "above": "scalar_amplifying_weak_above"},
    "amplifying_strong": {"status": "scalar_amplifying_strong_status",
                          "fixed": "scalar_amplifying_strong_fixed",
                          "fixed_pred": "scalar_amplifying_strong_fixed_pred",
                          "rate": "scalar_amplifying_strong_rate",
                          "rate_pred": "scalar_amplifying_strong_rate_pred",
                          "above": "scalar_amplifying_strong_above"},
    "confidence_noise": {"status": "scalar_confidence_noise_status",
                         "fixed": "scalar_confidence_noise_fixed",
                         "fixed_pred": "scalar_confidence_noise_fixed_pred",
                         "rate": "scalar_confidence_noise_rate",
                         "rate_pred": "scalar_confidence_noise_rate_pred",
                         "fixed_gap_pct": "scalar_confidence_noise_fixed_gap_pct",
                         "verdict": "scalar_confidence_noise_verdict",
                         "rate_verdict": "scalar_confidence_noise_rate_verdict"},
}
#: The glue names of the vanishing signal's numbers per share
#: (:func:`~srlm_core.experiments.judge_failures_analysis.vanishing_numbers`).
VANISHING_NAMES = {
    0.5: {"rate": "van_rate_a50", "rate_pred": "van_rate_pred_a50", "floor": "van_floor_a50",
          "floor_lo": "van_floor_a50_lo", "floor_hi": "van_floor_a50_hi", "ratio": "van_ratio_a50",
          "ratio_lo": "van_ratio_a50_lo", "ratio_hi": "van_ratio_a50_hi",
          "ratio_pred": "van_ratio_pred_a50", "rounds": "van_rounds_a50"},
    0.2: {"rate": "van_rate_a20", "rate_pred": "van_rate_pred_a20", "floor": "van_floor_a20",
          "floor_lo": "van_floor_a20_lo", "floor_hi": "van_floor_a20_hi", "ratio": "van_ratio_a20",
          "ratio_lo": "van_ratio_a20_lo", "ratio_hi": "van_ratio_a20_hi",
          "ratio_pred": "van_ratio_pred_a20", "rounds": "van_rounds_a20"},
    0.1: {"rate": "van_rate_a10", "rate_pred": "van_rate_pred_a10", "floor": "van_floor_a10",
          "floor_lo": "van_floor_a10_lo", "floor_hi": "van_floor_a10_hi", "ratio": "van_ratio_a10",
          "ratio_lo": "van_ratio_a10_lo", "ratio_hi": "van_ratio_a10_hi",
          "ratio_pred": "van_ratio_pred_a10", "rounds": "van_rounds_a10"},
    0.05: {"rate": "van_rate_a5", "rate_pred": "van_rate_pred_a5", "floor": "van_floor_a5",
           "floor_lo": "van_floor_a5_lo", "floor_hi": "van_floor_a5_hi", "ratio": "van_ratio_a5",
           "ratio_lo": "van_ratio_a5_lo", "ratio_hi": "van_ratio_a5_hi",
           "ratio_pred": "van_ratio_pred_a5", "rounds": "van_rounds_a5"},
}
#: The glue names of the confidence noise's excess squared error (over the population gap;
#: mean and interval) and the clean floor, per n.
NOISE_NAMES = {
    1000: {"excess": "noise_excess_n1000", "excess_lo": "noise_excess_n1000_lo",
           "excess_hi": "noise_excess_n1000_hi", "floor": "noise_floor_n1000"},
    16000: {"excess": "noise_excess_n16000", "excess_lo": "noise_excess_n16000_lo",
            "excess_hi": "noise_excess_n16000_hi", "floor": "noise_floor_n16000"},
}
#: The glue names of the bias displacement predicted per share (the chapter's derivation).
PREDICTION_NAMES = {0.5: "jf_pred_a50", 0.25: "jf_pred_a25", 0.1: "jf_pred_a10"}
