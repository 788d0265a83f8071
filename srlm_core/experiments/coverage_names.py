"""The glue names of the coverage sweep (:mod:`srlm_core.experiments.coverage`) that vary
with the book's grid, written out as literals per point: per tabular kappa_0, per featured
unit, per signal share and per (alpha, kappa_0, T) of the iterating part.
"""

#: The glue names of each tabular kappa_0: the bound's largest gap to the measured mean and
#: the crossing m_1/2 / kappa_0 with its interval (C1, C2).
KAPPA_NAMES = {
    8.0: {"gap": "cov_gap_8", "cross": "cov_cross_8", "cross_lo": "cov_cross_8_lo",
          "cross_hi": "cov_cross_8_hi"},
    32.0: {"gap": "cov_gap_32", "cross": "cov_cross_32", "cross_lo": "cov_cross_32_lo",
           "cross_hi": "cov_cross_32_hi"},
    128.0: {"gap": "cov_gap_128", "cross": "cov_cross_128", "cross_lo": "cov_cross_128_lo",
            "cross_hi": "cov_cross_128_hi"},
    512.0: {"gap": "cov_gap_512", "cross": "cov_cross_512", "cross_lo": "cov_cross_512_lo",
            "cross_hi": "cov_cross_512_hi"},
}
#: The glue names of the featured crossing (with its interval) in the units kappa_0 and
#: kappa_phi (C4).
FEATURED_CROSS_NAMES = {
    "kappa0": {"cross": "cov_feat_cross_k0", "cross_lo": "cov_feat_cross_k0_lo",
               "cross_hi": "cov_feat_cross_k0_hi"},
    "kappa_phi": {"cross": "cov_feat_cross_kphi", "cross_lo": "cov_feat_cross_kphi_lo",
                  "cross_hi": "cov_feat_cross_kphi_hi"},
}
#: The glue names of the largest kappa_0 one step's population limit lifts to 1/2, per alpha.
KMAX_NAMES = {1.0: "cov_kmax_1", 0.75: "cov_kmax_075", 0.5: "cov_kmax_05"}
#: The glue names of each (alpha, kappa_0, T): the budget to half success (as text) and the
#: success after the largest budget.
HALF_NAMES = {
    (1.0, 8.0, 1): {"half": "cov_half_1_8_1", "last": "cov_last_1_8_1"},
    (1.0, 8.0, 2): {"half": "cov_half_1_8_2", "last": "cov_last_1_8_2"},
    (1.0, 8.0, 4): {"half": "cov_half_1_8_4", "last": "cov_last_1_8_4"},
    (1.0, 32.0, 1): {"half": "cov_half_1_32_1", "last": "cov_last_1_32_1"},
    (1.0, 32.0, 2): {"half": "cov_half_1_32_2", "last": "cov_last_1_32_2"},
    (1.0, 32.0, 4): {"half": "cov_half_1_32_4", "last": "cov_last_1_32_4"},
    (1.0, 128.0, 1): {"half": "cov_half_1_128_1", "last": "cov_last_1_128_1"},
    (1.0, 128.0, 2): {"half": "cov_half_1_128_2", "last": "cov_last_1_128_2"},
    (1.0, 128.0, 4): {"half": "cov_half_1_128_4", "last": "cov_last_1_128_4"},
    (1.0, 512.0, 1): {"half": "cov_half_1_512_1", "last": "cov_last_1_512_1"},
    (1.0, 512.0, 2): {"half": "cov_half_1_512_2", "last": "cov_last_1_512_2"},
    (1.0, 512.0, 4): {"half": "cov_half_1_512_4", "last": "cov_last_1_512_4"},
    (0.75, 8.0, 1): {"half": "cov_half_075_8_1", "last": "cov_last_075_8_1"},
    (0.75, 8.0, 2): {"half": "cov_half_075_8_2", "last": "cov_last_075_8_2"},
    (0.75, 8.0, 4): {"half": "cov_half_075_8_4", "last": "cov_last_075_8_4"},
    (0.75, 32.0, 1): {"half": "cov_half_075_32_1", "last": "cov_last_075_32_1"},
    (0.75, 32.0, 2): {"half": "cov_half_075_32_2", "last": "cov_last_075_32_2"},
    (0.75, 32.0, 4): {"half": "cov_half_075_32_4", "last": "cov_last_075_32_4"},
    (0.75, 128.0, 1): {"half": "cov_half_075_128_1", "last": "cov_last_075_128_1"},
    (0.75, 128.0, 2): {"half": "cov_half_075_128_2", "last": "cov_last_075_128_2"},
    (0.75, 128.0, 4): {"half": "cov_half_075_128_4", "last": "cov_last_075_128_4"},
    (0.75, 512.0, 1): {"half": "cov_half_075_512_1", "last": "cov_last_075_512_1"},
    (0.75, 512.0, 2): {"half": "cov_half_075_512_2", "last": "cov_last_075_512_2"},
    (0.75, 512.0, 4): {"half": "cov_half_075_512_4", "last": "cov_last_075_512_4"},
    (0.5, 8.0, 1): {"half": "cov_half_05_8_1", "last": "cov_last_05_8_1"},
    (0.5, 8.0, 2): {"half": "cov_half_05_8_2", "last": "cov_last_05_8_2"},
    (0.5, 8.0, 4): {"half": "cov_half_05_8_4", "last": "cov_last_05_8_4"},
    (0.5, 32.0, 1): {"half": "cov_half_05_32_1", "last": "cov_last_05_32_1"},
    (0.5, 32.0, 2): {"half": "cov_half_05_32_2", "last": "cov_last_05_32_2"},
    (0.5, 32.0, 4): {"half": "cov_half_05_32_4", "last": "cov_last_05_32_4"},
    (0.5, 128.0, 1): {"half": "cov_half_05_128_1", "last": "cov_last_05_128_1"},
    (0.5, 128.0, 2): {"half": "cov_half_05_128_2", "last": "cov_last_05_128_2"},
    (0.5, 128.0, 4): {"half": "cov_half_05_128_4", "last": "cov_last_05_128_4"},
    (0.5, 512.0, 1): {"half": "cov_half_05_512_1", "last": "cov_last_05_512_1"},
    (0.5, 512.0, 2): {"half": "cov_half_05_512_2", "last": "cov_last_05_512_2"},
    (0.5, 512.0, 4): {"half": "cov_half_05_512_4", "last": "cov_last_05_512_4"},
}
