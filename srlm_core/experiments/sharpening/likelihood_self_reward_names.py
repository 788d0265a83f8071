"""The glue names of the paper's loop on SmolLM2
(:mod:`srlm_core.experiments.sharpening.likelihood_self_reward_analysis`): per split and
round, the matched step, the predictions' margins, the small run and the stored runs'
parameters, written out as literals (the book cites each name as a literal string).
"""

#: The glue names of each split's confident share at T (interval over seeds, range over seeds)
#: and kappa-hat at round 0 and T (estimate and interval).
SPLIT_NAMES = {
    "train": {"share_T_lo": "train_share_T_lo", "share_T_hi": "train_share_T_hi",
              "share_T_seed_min": "train_share_T_seed_min",
              "share_T_seed_max": "train_share_T_seed_max", "kappa0": "train_kappa0",
              "kappa0_lo": "train_kappa0_lo", "kappa0_hi": "train_kappa0_hi",
              "kappaT": "train_kappaT", "kappaT_lo": "train_kappaT_lo",
              "kappaT_hi": "train_kappaT_hi"},
    "heldout": {"share_T_lo": "heldout_share_T_lo", "share_T_hi": "heldout_share_T_hi",
                "share_T_seed_min": "heldout_share_T_seed_min",
                "share_T_seed_max": "heldout_share_T_seed_max", "kappa0": "heldout_kappa0",
                "kappa0_lo": "heldout_kappa0_lo", "kappa0_hi": "heldout_kappa0_hi",
                "kappaT": "heldout_kappaT", "kappaT_lo": "heldout_kappaT_lo",
                "kappaT_hi": "heldout_kappaT_hi"},
}
#: The glue names of each split's mean over seeds, at round 0 and at T, of each observable.
ROUND_NAMES = {
    ("train", "share"): ("train_share_0", "train_share_T"),
    ("train", "f_base"): ("train_f_base_0", "train_f_base_T"),
    ("train", "agree"): ("train_agree_0", "train_agree_T"),
    ("train", "greedy_acc"): ("train_greedy_acc_0", "train_greedy_acc_T"),
    ("train", "sampled_acc"): ("train_sampled_acc_0", "train_sampled_acc_T"),
    ("train", "length"): ("train_length_0", "train_length_T"),
    ("train", "finished"): ("train_finished_0", "train_finished_T"),
    ("train", "c_hat"): ("train_c_hat_0", "train_c_hat_T"),
    ("train", "gamma_hat"): ("train_gamma_hat_0", "train_gamma_hat_T"),
    ("heldout", "share"): ("heldout_share_0", "heldout_share_T"),
    ("heldout", "f_base"): ("heldout_f_base_0", "heldout_f_base_T"),
    ("heldout", "agree"): ("heldout_agree_0", "heldout_agree_T"),
    ("heldout", "greedy_acc"): ("heldout_greedy_acc_0", "heldout_greedy_acc_T"),
    ("heldout", "sampled_acc"): ("heldout_sampled_acc_0", "heldout_sampled_acc_T"),
    ("heldout", "length"): ("heldout_length_0", "heldout_length_T"),
    ("heldout", "finished"): ("heldout_finished_0", "heldout_finished_T"),
    ("heldout", "c_hat"): ("heldout_c_hat_0", "heldout_c_hat_T"),
    ("heldout", "gamma_hat"): ("heldout_gamma_hat_0", "heldout_gamma_hat_T"),
}
#: The glue names of F_base and the confident share after the matched step, the step at
#: beta and the iterated rounds, per split (P3).
MATCHED_NAMES = {
    ("train", "matched"): {"f_base": "train_matched_f_base", "share": "train_matched_share"},
    ("train", "one-step"): {"f_base": "train_onestep_f_base", "share": "train_onestep_share"},
    ("train", "iterate"): {"f_base": "train_iterate_f_base", "share": "train_iterate_share"},
    ("heldout", "matched"): {"f_base": "heldout_matched_f_base", "share": "heldout_matched_share"},
    ("heldout", "one-step"): {"f_base": "heldout_onestep_f_base", "share": "heldout_onestep_share"},
    ("heldout", "iterate"): {"f_base": "heldout_iterate_f_base", "share": "heldout_iterate_share"},
}
#: The glue names of the predictions' margins (the fields of
#: :data:`~srlm_core.experiments.sharpening.likelihood_self_reward_analysis.PREDICTIONS`).
PREDICTION_NAMES = {
    "geometric_r2": "pred_geometric_r2", "share_level": "pred_share_level",
    "f_base_margin": "pred_f_base_margin", "greedy_acc_margin": "pred_greedy_acc_margin",
}
#: The glue names of the small run's numbers the chapter states (keys of
#: :func:`~srlm_core.experiments.sharpening.likelihood_self_reward_analysis.summarise`).
SMALL_RUN_NAMES = {
    "train_prompts": "small_train_prompts", "heldout_prompts": "small_heldout_prompts",
    "rounds": "small_rounds", "train_kappa0": "small_train_kappa0",
    "train_kappaT": "small_train_kappaT", "train_share_0": "small_train_share_0",
    "train_share_T": "small_train_share_T", "train_length_0": "small_train_length_0",
    "train_length_T": "small_train_length_T",
}
#: The glue names of the stored runs' parameters.
CONFIG_NAMES = {
    "tau": "cfg_tau", "beta": "cfg_beta", "rounds": "cfg_rounds", "pairs": "cfg_pairs",
    "epochs": "cfg_epochs", "learning_rate": "cfg_learning_rate",
    "trainable_blocks": "cfg_trainable_blocks",
}
