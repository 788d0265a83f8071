from srlm_core.lm.checkers import describe
from srlm_core.lm.prompts import PROMPTS_FILE, build_prompt_splits, load_prompts


def test_stored_split_is_the_generated_one():
    assert load_prompts(PROMPTS_FILE) == build_prompt_splits()


def test_heldout_is_disjoint_from_train():
    splits = load_prompts()
    train_topics = {p["topic"] for p in splits["train"]}
    assert not train_topics & {p["topic"] for p in splits["heldout"]}
    assert not {p["id"] for p in splits["train"]} & {p["id"] for p in splits["heldout"]}


def test_instructions_state_their_constraints():
    for prompt in load_prompts()["train"][:30]:
        for constraint in prompt["constraints"]:
            assert describe(constraint) in prompt["instruction"]
