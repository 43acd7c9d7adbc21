"""The bundled vocabulary and config are read strictly: ids are canonical, dense and in range, no JSON key
appears twice, every field the runtime reads is present and of its type. Each refusal is one typed line
naming the field (issue 11)."""

from __future__ import annotations

import json

import pytest
from nextword.runtime.bundle import decode_bundle, encode_bundle
from nextword.runtime.config import RUNTIME_FIELDS, TrainConfig
from nextword.runtime.contract import KEY_CONFIG, KEY_FORMAT_VERSION, KEY_TOKENIZER
from nextword.runtime.errors import CorruptModelError, InputError, ModelFormatError, VocabularyMismatchError
from nextword.runtime.tokenizer import Tokenizer, tokenizer_from_json

WORDS = "the cat sat on the mat the end"


def fitted(oov_token: str | None = "<unk>") -> Tokenizer:
    tokenizer = Tokenizer(oov_token=oov_token)
    tokenizer.fit_on_texts([WORDS])
    return tokenizer


def entries(tokenizer: Tokenizer | None = None, **config_changes) -> dict[str, str]:
    tokenizer = tokenizer or fitted()
    config = TrainConfig(oov_token=tokenizer.oov_token, vocab_size=max(tokenizer.index_word) + 1)
    out = encode_bundle(tokenizer, config)
    if config_changes:
        data = json.loads(out[KEY_CONFIG]) | config_changes
        out[KEY_CONFIG] = json.dumps({k: v for k, v in data.items() if v is not DROP})
    return out


DROP = object()


def with_tables(base: dict[str, str], **tables: str) -> dict[str, str]:
    """The bundle with tokenizer tables replaced by raw JSON strings (as a hostile file would hold them)."""
    payload = json.loads(base[KEY_TOKENIZER])
    payload["config"].update(tables)
    return base | {KEY_TOKENIZER: json.dumps(payload)}


def refusal(bundle: dict[str, str], kind=CorruptModelError) -> str:
    with pytest.raises(ModelFormatError) as info:
        decode_bundle(bundle, source="m")
    assert isinstance(info.value, kind), info.value
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_the_exporters_bundle_loads():
    bundle = decode_bundle(entries(), source="m")
    assert bundle.tokenizer.index_word == fitted().index_word and bundle.config.vocab_size == 8


@pytest.mark.parametrize("key", [" 5 ", "+5", "1_0", "05", "-1", "0", "5.0", "٥", "99999999999"])
def test_non_canonical_ids_are_refused(key):
    base = entries()
    index_word = {str(i): w for i, w in fitted().index_word.items() if i != 5} | {key: "sat"}
    message = refusal(with_tables(base, index_word=json.dumps(index_word)))
    assert "index_word" in message and repr(key) in message


def test_a_duplicate_id_key_inside_a_table_string_is_refused():
    base = entries()
    table = '{"1": "<unk>", "2": "the", "2": "cat", "3": "sat", "4": "on", "5": "mat", "6": "end"}'
    assert "appears twice" in refusal(with_tables(base, index_word=table))


@pytest.mark.parametrize("where", ["outer", "config"])
def test_duplicate_keys_in_the_tokenizer_json_are_refused(where):
    base = entries()
    text = base[KEY_TOKENIZER]
    if where == "outer":
        text = text.replace('{"class_name": "Tokenizer",', '{"class_name": "Tokenizer", "class_name": "Tokenizer",')
    else:
        text = text.replace('"lower": true', '"lower": true, "lower": false')
    assert "appears twice" in refusal(base | {KEY_TOKENIZER: text})


def test_duplicate_keys_in_the_config_json_are_refused():
    base = entries()
    text = base[KEY_CONFIG].replace('"seq_len": 3', '"seq_len": 3, "seq_len": 9')
    assert "'seq_len' appears twice" in refusal(base | {KEY_CONFIG: text})


def test_tables_that_disagree_or_repeat_a_word_are_refused():
    base = entries()
    index_word = dict(fitted().index_word) | {3: "the"}  # "the" twice: word_index can hold only one of them
    message = refusal(with_tables(base, index_word=json.dumps(index_word)))
    assert "index_word" in message and "word_index" in message


def test_gaps_in_the_ids_are_refused():
    tokenizer = fitted()
    tokenizer.index_word = {i if i < 4 else i + 1: w for i, w in tokenizer.index_word.items()}
    tokenizer.word_index = {w: i for i, w in tokenizer.index_word.items()}
    assert "gaps" in refusal(entries(tokenizer))


def test_the_legacy_quirk_of_an_unused_id_1_still_loads():
    tokenizer = Tokenizer(oov_token="the")  # the oov token is also a word: legacy leaves id 1 unused
    tokenizer.fit_on_texts([WORDS])
    assert 1 not in tokenizer.index_word
    assert decode_bundle(entries(tokenizer), source="m").tokenizer.index_word == tokenizer.index_word


def test_an_oov_token_without_an_id_is_refused():
    tokenizer = fitted(None)
    tokenizer.oov_token = "<unk>"
    assert "oov_token" in refusal(entries(tokenizer))


def test_a_huge_oov_id_is_refused():
    tokenizer = fitted()
    tokenizer.word_index["<unk>"] = 2**40
    assert "index_word" in refusal(entries(tokenizer))


def test_ids_past_vocab_size_are_refused():
    tokenizer = fitted()
    tokenizer.num_words = 4  # untrimmed: ids 4.. stay in the tables, but vocab_size is 4
    bundle = encode_bundle(tokenizer, TrainConfig(oov_token="<unk>", vocab_size=4, num_words=4))
    payload = json.loads(bundle[KEY_TOKENIZER])
    payload["config"]["index_word"] = json.dumps({str(i): w for i, w in tokenizer.index_word.items()})
    payload["config"]["word_index"] = json.dumps(tokenizer.word_index)
    message = refusal(bundle | {KEY_TOKENIZER: json.dumps(payload)}, VocabularyMismatchError)
    assert "past vocab_size 4" in message


def test_a_one_id_vocabulary_is_refused():
    tokenizer = Tokenizer()
    message = refusal(
        encode_bundle(tokenizer, TrainConfig(vocab_size=1)), VocabularyMismatchError
    )  # no words: nothing to suggest
    assert "vocab_size is 1" in message


@pytest.mark.parametrize("field", ["seq_len", "vocab_size", "units", "oov_token", "kind", "layers", "num_words"])
def test_a_missing_field_of_a_version_2_config_is_refused(field):
    assert f"lacks the field {field!r}" in refusal(entries(**{field: DROP}))


def test_version_2_files_written_before_a_training_field_existed_still_load():
    bundle = decode_bundle(entries(patience=DROP, chunk_len=DROP, dropout=DROP, activation_reg=DROP), source="m")
    assert bundle.config.patience == TrainConfig.patience and bundle.config.chunk_len == TrainConfig.chunk_len
    assert bundle.config.activation_reg == 0.0


@pytest.mark.parametrize("field", ["activation_reg", "temporal_reg"])
def test_a_negative_activation_penalty_is_refused(field):
    assert field in refusal(entries(**{field: -1.0}))


def test_version_1_configs_default_the_newer_fields_but_not_what_the_runtime_reads():
    v1_fields = set(RUNTIME_FIELDS) | {"epochs", "batch_size", "learning_rate", "seed", "preset", "corpus_sha256"}
    base = entries()
    data = {k: v for k, v in json.loads(base[KEY_CONFIG]).items() if k in v1_fields}
    v1 = base | {KEY_FORMAT_VERSION: "1", KEY_CONFIG: json.dumps(data)}
    bundle = decode_bundle(v1, source="m")
    assert bundle.config.kind == "window" and bundle.config.layers == 1
    missing_seq_len = v1 | {KEY_CONFIG: json.dumps({k: v for k, v in data.items() if k != "seq_len"})}
    assert "lacks the field 'seq_len'" in refusal(missing_seq_len)


@pytest.mark.parametrize(
    "field, value, said",
    [
        ("seq_len", True, "not a boolean"),
        ("units", 8.0, "must be int"),
        ("vocab_size", "7", "must be int"),
        ("vocab_from_training_split", 1, "must be bool"),
        ("oov_token", 5, "must be str or null"),
        ("validation_split", "0.1", "must be float"),
        ("kind", None, "must be str"),
    ],
)
def test_fields_of_the_wrong_type_are_refused(field, value, said):
    message = refusal(entries(**{field: value}))
    assert repr(field) in message and said in message


def test_nan_in_a_config_is_refused():
    base = entries()
    text = base[KEY_CONFIG].replace('"learning_rate": 0.01', '"learning_rate": NaN')
    assert "NaN" in refusal(base | {KEY_CONFIG: text})


def test_training_folders_keep_reading_lenient_json_but_not_duplicates():
    # A tf.keras tokenizer (tests/runtime/test_tokenizer.py has the real ones) loads without `strict`.
    loose = fitted()
    loose.index_word = {1: "a", 3: "b"}  # gaps are allowed outside a bundle
    loose.word_index = {"a": 1, "b": 3}
    assert tokenizer_from_json(loose.to_json()).index_word == {1: "a", 3: "b"}
    with pytest.raises(InputError, match="appears twice"):
        tokenizer_from_json('{"class_name": "Tokenizer", "config": {}, "config": {}}')
    with pytest.raises(InputError, match="appears twice"):
        TrainConfig.from_json('{"version": 1, "units": 3, "units": 4}')
