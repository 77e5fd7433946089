from anima_prompt.vocab import GROUPS, special_tags


def test_groups_hold_the_model_card_tags() -> None:
    tags = special_tags()
    assert tags.quality_order[0] == "masterpiece" and tags.quality_order[-1] == "worst quality"
    assert tags.score == frozenset(f"score_{n}" for n in range(1, 10))
    assert "year 2025" in tags.year and "year 2005" in tags.year
    assert tags.safety_order == ("safe", "sensitive", "nsfw", "explicit")
    assert tags.period == frozenset({"newest", "recent", "mid", "early", "old"})
    assert tags.dataset == frozenset({"ye-pop", "deviantart"})
    assert "anime screenshot" in tags.meta
    assert set(tags.groups()) == set(GROUPS)


def test_group_accepts_any_spelling() -> None:
    tags = special_tags()
    assert tags.group("Best_Quality") == "quality"
    assert tags.group("score_7") == "score"
    assert tags.group("year_2024") == "year"
    assert tags.group("NSFW") == "safety"
    assert tags.group("long hair") is None
    assert len(tags.all_tags()) == sum(len(members) for members in tags.groups().values())
