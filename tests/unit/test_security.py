"""trilink.security: labels, signing and verification (each refusal distinct), key files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import main as cli_main
from trilink.enums import Nation
from trilink.errors import ConfigError, SecurityError
from trilink.security import (
    KEY_HEADER,
    LABEL_HEADER,
    MSGID_HEADER,
    SIG_HEADER,
    Classification,
    KeyRole,
    Label,
    ReplayGuard,
    Signer,
    TrustedKey,
    TrustStore,
    Verifier,
    combine,
    derive_msgid,
    init_keys,
    load_signer,
    load_trust,
    security_headers,
    signed_message,
)

USA, KOR, JPN = Nation.USA, Nation.KOR, Nation.JPN
ALL = frozenset({USA, KOR, JPN})
VALUE = bytes(range(256)) * 2  # stands in for an encoded warning
WHERE = ("trilink.warnings.usa", 0, 42)


def _label(
    cls: Classification = Classification.SECRET,
    rel: frozenset[Nation] = ALL,
    originator: Nation = USA,
) -> Label:
    return Label(
        classification=cls,
        releasable_to=rel,
        created_us=1_700_000_000_000_000,
        originator=originator,
    )


def _signer() -> Signer:
    return Signer.of(Ed25519PrivateKey.generate())


def _trusted(signer: Signer, nations: frozenset[Nation], role: KeyRole) -> TrustedKey:
    return TrustedKey(signer.key_id, signer.private_key.public_key(), nations, role)


# One key per nation and the bridge's; made once, the tests only sign and verify.
SIGNERS = {name: _signer() for name in ("USA", "KOR", "JPN", "BRIDGE")}
TRUST = TrustStore.of(
    [_trusted(SIGNERS[n.value], frozenset({n}), KeyRole.NATION) for n in (USA, KOR, JPN)]
    + [_trusted(SIGNERS["BRIDGE"], ALL, KeyRole.BRIDGE)]
)


def _verifier() -> Verifier:
    return Verifier(TRUST, ReplayGuard(1000))


def _signed(signer: Signer | None = None, label: Label | None = None) -> dict[str, bytes]:
    signer = signer or SIGNERS["USA"]
    return dict(signer.headers(VALUE, label or _label()))


def _refusal(
    headers: dict[str, bytes],
    value: bytes = VALUE,
    *,
    nation: Nation = USA,
    role: KeyRole = KeyRole.NATION,
) -> SecurityError:
    with pytest.raises(SecurityError) as info:
        _verifier().verify(headers, value, nation=nation, where=WHERE, role=role)
    assert info.value.reason and "\n" not in info.value.reason
    return info.value


# Labels


def test_label_encodes_canonically_and_round_trips() -> None:
    label = _label(rel=frozenset({KOR, USA}))
    assert label.encode() == (
        b'{"classification":"SECRET","created_us":1700000000000000,"originator":"USA",'
        b'"policy":"TRILATERAL-2014","releasable_to":["KOR","USA"]}'
    )
    assert Label.decode(label.encode()) == label


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"classification":"SECRET"}',
        b'{"classification":"TOP","created_us":1,"originator":"USA","policy":"P",'
        b'"releasable_to":[]}',
        b'{"classification":"SECRET","created_us":1,"originator":"USA","policy":"P",'
        b'"releasable_to":["AUS"]}',
        b'{"classification":"SECRET","created_us":1,"originator":"UNKNOWN","policy":"P",'
        b'"releasable_to":[]}',
        b'{"classification":"SECRET","created_us":"1","originator":"USA","policy":"P",'
        b'"releasable_to":[]}',
        b'{"classification":"SECRET","created_us":1.5,"originator":"USA","policy":"P",'
        b'"releasable_to":[]}',
        b'{"classification":"SECRET","created_us":true,"originator":"USA","policy":"P",'
        b'"releasable_to":[]}',
        b'{"classification":"SECRET","created_us":1,"originator":"USA","policy":"P",'
        b'"releasable_to":"USA"}',
        b'{"classification":"SECRET","created_us":1,"originator":"USA","policy":"P",'
        b'"releasable_to":["USA","USA"]}',
        b'{"classification":"SECRET","created_us":1,"originator":"USA","policy":"P",'
        b'"releasable_to":[],"extra":1}',
        b'{"classification":"SECRET","classification":"SECRET","created_us":1,'
        b'"originator":"USA","policy":"P","releasable_to":[]}',
        b'{"classification":"SECRET","created_us":1,"originator":"USA","policy":"'
        + b"x" * 1100
        + b'","releasable_to":[]}',
    ],
)
def test_malformed_labels_are_bad_labels(data: bytes) -> None:
    with pytest.raises(SecurityError) as info:
        Label.decode(data)
    assert info.value.error_type == "bad-label"


def test_classification_ranks_in_order() -> None:
    ranks = [c.rank for c in Classification]
    assert ranks == [0, 1, 2, 3]
    assert Classification.RESTRICTED.rank < Classification.CONFIDENTIAL.rank


def test_markings_put_usa_first_then_alphabetical() -> None:
    assert _label(rel=frozenset({KOR, USA})).marking() == "SECRET//REL TO USA, KOR"
    assert _label(Classification.UNCLASSIFIED).marking() == "UNCLASSIFIED//REL TO USA, JPN, KOR"
    assert _label(rel=frozenset({KOR, JPN})).marking() == "SECRET//REL TO JPN, KOR"
    assert _label(rel=frozenset()).marking() == "SECRET//NOT RELEASABLE"


def test_releasable_needs_every_nation() -> None:
    label = _label(rel=frozenset({USA, KOR}))
    assert label.releasable([USA]) and label.releasable([USA, KOR]) and label.releasable([])
    assert not label.releasable([USA, JPN])


def test_combine_takes_highest_classification_and_intersects_releasability() -> None:
    a = _label(Classification.CONFIDENTIAL, frozenset({USA, KOR, JPN}), USA)
    b = _label(Classification.SECRET, frozenset({USA, KOR}), KOR)
    c = _label(Classification.RESTRICTED, frozenset({USA, KOR, JPN}), JPN)
    fused = combine([a, b, c], originator=USA, created_us=5)
    assert fused.classification is Classification.SECRET
    assert fused.releasable_to == {USA, KOR}
    assert (fused.originator, fused.created_us) == (USA, 5)
    capped = combine([a, c], audience=[USA, JPN], originator=USA, created_us=5)
    assert capped.releasable_to == {USA, JPN}
    assert capped.classification is Classification.CONFIDENTIAL


def test_combine_never_widens_past_the_audience_or_the_contributors() -> None:
    a = _label(rel=frozenset({USA}))
    assert combine([a], audience=ALL, originator=USA, created_us=1).releasable_to == {USA}
    assert combine([a], audience=[KOR], originator=USA, created_us=1).releasable_to == set()


def test_combine_of_nothing_is_unclassified_for_the_audience() -> None:
    empty = combine([], audience=[USA, KOR], originator=USA, created_us=1)
    assert empty.classification is Classification.UNCLASSIFIED
    assert empty.releasable_to == {USA, KOR}
    assert combine([], originator=USA, created_us=1).releasable_to == set()


def test_combine_refuses_mixed_policies() -> None:
    other = Label(
        policy="OTHER", classification=Classification.SECRET, releasable_to=ALL,
        created_us=1, originator=USA,
    )  # fmt: skip
    with pytest.raises(SecurityError) as info:
        combine([_label(), other], originator=USA, created_us=1)
    assert info.value.error_type == "policy-mismatch"


# Signing and verification


def test_sign_then_verify_round_trip() -> None:
    label = _label()
    headers = SIGNERS["USA"].headers(VALUE, label)
    assert [name for name, _ in headers] == [LABEL_HEADER, KEY_HEADER, MSGID_HEADER, SIG_HEADER]
    verified = _verifier().verify(dict(headers), VALUE, nation=USA, where=WHERE)
    assert verified.label == label
    assert verified.key_id == SIGNERS["USA"].key_id
    assert verified.msgid == dict(headers)[MSGID_HEADER]


def test_an_injected_msgid_makes_the_headers_deterministic() -> None:
    msgid = derive_msgid(b"trilink.warnings.usa", b"17")
    assert len(msgid) == 16 and msgid != derive_msgid(b"trilink.warnings.us", b"a17")
    first = SIGNERS["USA"].headers(VALUE, _label(), msgid)
    assert first == SIGNERS["USA"].headers(VALUE, _label(), msgid)
    assert SIGNERS["USA"].headers(VALUE, _label()) != SIGNERS["USA"].headers(VALUE, _label())


def test_a_bridge_key_verifies_alerts_in_the_bridge_role() -> None:
    headers = _signed(SIGNERS["BRIDGE"])
    verified = _verifier().verify(headers, VALUE, nation=USA, where=WHERE, role=KeyRole.BRIDGE)
    assert verified.key_id == SIGNERS["BRIDGE"].key_id


@pytest.mark.parametrize("drop", [SIG_HEADER, KEY_HEADER])
def test_unsigned(drop: str) -> None:
    headers = _signed()
    del headers[drop]
    error = _refusal(headers)
    assert error.error_type == "unsigned" and drop in error.reason
    assert _refusal({}).error_type == "unsigned"


def test_missing_label() -> None:
    headers = _signed()
    del headers[LABEL_HEADER]
    assert _refusal(headers).error_type == "bad-label"


def test_malformed_label_signed_by_a_trusted_key() -> None:
    # A signer bug, not an attack: the signature holds, the label does not parse.
    signer = SIGNERS["USA"]
    headers = _signed()
    headers[LABEL_HEADER] = b'{"classification":"SECRET"}'
    message = signed_message(headers[MSGID_HEADER], headers[LABEL_HEADER], VALUE)
    headers[SIG_HEADER] = signer.private_key.sign(message)
    assert _refusal(headers).error_type == "bad-label"


def test_label_tampered_after_signing() -> None:
    headers = _signed(label=_label(rel=frozenset({USA})))
    headers[LABEL_HEADER] = _label(rel=ALL).encode()  # a well-formed, wider label
    error = _refusal(headers)
    assert error.error_type == "bad-signature"


def test_value_tampered() -> None:
    error = _refusal(_signed(), VALUE[:-1] + b"\x00")
    assert error.error_type == "bad-signature"


def test_malformed_signature_or_msgid() -> None:
    headers = _signed()
    headers[SIG_HEADER] = headers[SIG_HEADER][:-1]
    assert _refusal(headers).error_type == "bad-signature"
    headers = _signed()
    del headers[MSGID_HEADER]
    assert _refusal(headers).error_type == "bad-signature"


def test_unknown_key() -> None:
    error = _refusal(_signed(_signer()))
    assert error.error_type == "untrusted-key" and "not in the trust store" in error.reason


def test_key_trusted_for_another_nation() -> None:
    error = _refusal(_signed(SIGNERS["KOR"], _label(originator=KOR)), nation=USA)
    assert error.error_type == "untrusted-key"
    assert error.reason.endswith("which is trusted for KOR, not USA")


def test_nation_and_bridge_keys_cannot_stand_in_for_each_other() -> None:
    nation_alert = _refusal(_signed(SIGNERS["USA"]), role=KeyRole.BRIDGE)
    assert nation_alert.error_type == "untrusted-key" and "role is nation" in nation_alert.reason
    bridge_warning = _refusal(_signed(SIGNERS["BRIDGE"]))
    assert bridge_warning.error_type == "untrusted-key"


def test_label_originator_must_be_the_nation() -> None:
    error = _refusal(_signed(SIGNERS["BRIDGE"], _label(originator=JPN)), role=KeyRole.BRIDGE)
    assert error.error_type == "label-mismatch"


def test_replay_at_another_position_is_refused_but_a_reread_is_not() -> None:
    verifier = _verifier()
    headers = _signed()
    verifier.verify(headers, VALUE, nation=USA, where=WHERE)
    verifier.verify(headers, VALUE, nation=USA, where=WHERE)  # re-read after a rewind
    with pytest.raises(SecurityError) as info:
        verifier.verify(headers, VALUE, nation=USA, where=("trilink.warnings.usa", 0, 43))
    assert info.value.error_type == "replayed" and "[0]@42" in info.value.reason


def test_a_refused_record_does_not_poison_the_replay_guard() -> None:
    verifier = _verifier()
    headers = _signed()
    with pytest.raises(SecurityError):
        verifier.verify(headers, VALUE + b"x", nation=USA, where=("t", 0, 1))
    verifier.verify(headers, VALUE, nation=USA, where=WHERE)


def test_replay_guard_forgets_the_least_recently_seen_first() -> None:
    guard = ReplayGuard(max_entries=2)
    guard.check_and_remember(b"a" * 16, ("t", 0, 1))
    guard.check_and_remember(b"b" * 16, ("t", 0, 2))
    guard.check_and_remember(b"a" * 16, ("t", 0, 1))  # seen again: now the most recent
    guard.check_and_remember(b"c" * 16, ("t", 0, 3))  # evicts b
    assert len(guard) == 2
    guard.check_and_remember(b"b" * 16, ("t", 0, 9))
    with pytest.raises(SecurityError):
        guard.check_and_remember(b"c" * 16, ("t", 0, 9))


def test_security_headers_picks_ours_and_refuses_duplicates() -> None:
    raw = [("other", b"x"), *SIGNERS["USA"].headers(VALUE, _label()), ("empty", None)]
    assert set(security_headers(raw)) == {LABEL_HEADER, KEY_HEADER, MSGID_HEADER, SIG_HEADER}
    assert security_headers(None) == {}
    with pytest.raises(SecurityError) as info:
        security_headers([*raw, (SIG_HEADER, b"again")])
    assert info.value.error_type == "bad-signature"


_PART = st.sampled_from([SIG_HEADER, LABEL_HEADER, MSGID_HEADER, "value"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(part=_PART, data=st.data())
def test_any_single_bit_flip_is_refused(part: str, data: st.DataObject) -> None:
    headers = _signed()
    target = VALUE if part == "value" else headers[part]
    bit = data.draw(st.integers(0, len(target) * 8 - 1))
    flipped = bytearray(target)
    flipped[bit // 8] ^= 1 << (bit % 8)
    value = bytes(flipped) if part == "value" else VALUE
    if part != "value":
        headers[part] = bytes(flipped)
    error = _refusal(headers, value)
    assert error.error_type in {"bad-signature", "bad-label"}


# Key files


def test_init_keys_writes_private_keys_0600_and_a_trust_store_that_loads(tmp_path: Path) -> None:
    written = init_keys(tmp_path / "keys")
    assert [p.name for p in written] == [
        "USA.key",
        "KOR.key",
        "JPN.key",
        "BRIDGE.key",
        "trust.json",
    ]
    for path in written[:-1]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    trust = load_trust(written[-1])
    signers = {p.stem: load_signer(p) for p in written[:-1]}
    assert set(trust.keys) == {s.key_id for s in signers.values()}
    assert trust.keys[signers["KOR"].key_id].nations == {KOR}
    bridge = trust.keys[signers["BRIDGE"].key_id]
    assert (bridge.role, bridge.nations) == (KeyRole.BRIDGE, ALL)
    headers = dict(signers["JPN"].headers(VALUE, _label(originator=JPN)))
    Verifier(trust).verify(headers, VALUE, nation=JPN, where=WHERE)
    assert not list(tmp_path.glob("keys/.*"))  # no temporary file left behind


def test_init_keys_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    first = init_keys(tmp_path)
    before = first[0].read_bytes()
    with pytest.raises(ConfigError, match="--force"):
        init_keys(tmp_path)
    assert first[0].read_bytes() == before
    init_keys(tmp_path, force=True)
    assert first[0].read_bytes() != before


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),
        ("{", "not JSON"),
        ('{"version": 2, "keys": []}', "version"),
        ('{"version": 1, "keys": [{"key_id": "x"}]}', "public_key"),
    ],
)
def test_load_trust_fails_in_one_line(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "trust.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=needle) as info:
        load_trust(path)
    assert "\n" not in str(info.value)


def test_load_trust_refuses_a_key_id_not_of_its_key(tmp_path: Path) -> None:
    doc = TRUST.to_json()
    doc["keys"][0]["key_id"] = "0" * 16
    (tmp_path / "trust.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="does not match"):
        load_trust(tmp_path / "trust.json")


def test_load_signer_fails_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_signer(tmp_path / "none.key")
    (tmp_path / "bad.key").write_text("garbage")
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        load_signer(tmp_path / "bad.key")


def test_cli_keys_init(tmp_path: Path) -> None:
    cli_main._load()
    runner = CliRunner()
    result = runner.invoke(cli_main.app, ["keys", "init", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    trust = load_trust(tmp_path / "k" / "trust.json")
    for key_id in trust.keys:
        assert key_id in result.stdout
    again = runner.invoke(cli_main.app, ["keys", "init", str(tmp_path / "k")])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert (
        runner.invoke(cli_main.app, ["keys", "init", "--force", str(tmp_path / "k")]).exit_code == 0
    )
    assert "keys" in cli_main._COMMAND_MODULES


def test_bench_section_times_sign_and_verify() -> None:
    from bench.report_capacity import security_section
    from bench.security import run

    figures = run(40)
    assert figures["records"] == 40 and figures["value_bytes"] > 100
    for op in ("sign", "verify"):
        assert 0 < figures[f"{op}_median_us"] <= figures[f"{op}_p99_us"]
    markdown = "\n".join(security_section({"security": figures}))
    assert markdown.startswith("## 7. Record signing") and "| verify |" in markdown
    assert security_section({}) == []
