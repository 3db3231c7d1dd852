"""The bridge's verification of labelled, signed records, and the producers' labelling."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bridge.admission import Admission, Inbound
from bridge.config import BridgeConfig, EngineConfig
from bridge.engine import Engine
from bridge.interlink import system_config
from bridge.protection import Protection
from bridge.validate import Validator
from producers.labelling import Labeller, ReleasePolicy
from tests.factories import make_alert, make_warning
from trilink.codec import Codec
from trilink.config import Topics
from trilink.model import DeadLetter, MissileWarning, Nation
from trilink.security import (
    LABEL_HEADER,
    Classification,
    Label,
    Signer,
    TrustStore,
    Verifier,
    init_keys,
    load_signer,
    load_trust,
)
from trilink.systems import System

CODEC = Codec()
TOPICS = Topics()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Signer], TrustStore]:
    directory: Path = tmp_path_factory.mktemp("keys")
    init_keys(directory)
    names = ("USA", "KOR", "JPN", "BRIDGE")
    return {n: load_signer(directory / f"{n}.key") for n in names}, load_trust(
        directory / "trust.json"
    )


def _inbound(value: bytes, headers: list[tuple[str, bytes]], offset: int = 0) -> Inbound:
    return Inbound(TOPICS.warnings_kor, 0, offset, b"k", value, dict(headers))


def _admission(
    trust: TrustStore, audience: tuple[Nation, ...] = (Nation.USA, Nation.KOR, Nation.JPN)
) -> Admission:
    engine = EngineConfig()
    validation = dataclasses.replace(engine.validation, releasable_to=audience)
    return Admission(
        CODEC, Validator(validation), TOPICS.all_warnings(), "bridge", verifier=Verifier(trust)
    )


def _signed(
    labeller: Labeller, warning: MissileWarning
) -> tuple[bytes, list[tuple[str, bytes]], MissileWarning]:
    body, label = labeller.apply(warning)
    value = CODEC.encode(body)
    return value, labeller.headers(value, label, body), body


def test_a_signed_report_is_admitted_with_its_classification(keys) -> None:  # type: ignore[no-untyped-def]
    signers, trust = keys
    w = make_warning(nation=Nation.KOR)
    value, headers, _ = _signed(Labeller(Nation.KOR, signers["KOR"]), w)
    verdict = _admission(trust).admit(_inbound(value, headers), w.reported_us)
    assert not isinstance(verdict, DeadLetter), verdict
    assert verdict.classification == Classification.UNCLASSIFIED


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda v, h, s: (v, []), "unsigned"),
        (lambda v, h, s: (v[:-1] + bytes([v[-1] ^ 1]), h), "bad-signature"),
        (
            lambda v, h, s: (v, s["USA"].headers(v, Label.decode(dict(h)[LABEL_HEADER]))),
            "untrusted-key",
        ),
    ],
    ids=["unsigned", "forged", "re-keyed"],
)
def test_an_unverifiable_report_is_a_dead_letter_with_its_reason(keys, tamper, reason) -> None:  # type: ignore[no-untyped-def]
    signers, trust = keys
    w = make_warning(nation=Nation.KOR)
    value, headers, _ = _signed(Labeller(Nation.KOR, signers["KOR"]), w)
    value, headers = tamper(value, headers, signers)
    verdict = _admission(trust).admit(_inbound(value, headers), w.reported_us)
    assert isinstance(verdict, DeadLetter)
    assert verdict.error_type == reason, verdict.reason


def test_a_copy_at_another_offset_is_a_replay_but_a_reread_is_not(keys) -> None:  # type: ignore[no-untyped-def]
    signers, trust = keys
    w = make_warning(nation=Nation.KOR)
    value, headers, _ = _signed(Labeller(Nation.KOR, signers["KOR"]), w)
    admission = _admission(trust)
    assert not isinstance(admission.admit(_inbound(value, headers, 5), w.reported_us), DeadLetter)
    assert not isinstance(admission.admit(_inbound(value, headers, 5), w.reported_us), DeadLetter)
    copy = admission.admit(_inbound(value, headers, 9), w.reported_us)
    assert isinstance(copy, DeadLetter) and copy.error_type == "replayed"


def test_a_body_that_contradicts_its_label_is_refused(keys) -> None:  # type: ignore[no-untyped-def]
    signers, trust = keys
    labeller = Labeller(Nation.KOR, signers["KOR"])
    body, label = labeller.apply(make_warning(nation=Nation.KOR))
    lying = dataclasses.replace(body, releasable_to=(Nation.USA, Nation.KOR, Nation.JPN))
    narrow = dataclasses.replace(label, releasable_to=frozenset((Nation.USA, Nation.KOR)))
    value = CODEC.encode(lying)
    headers = labeller.signer.headers(value, narrow)  # type: ignore[union-attr]
    verdict = _admission(trust).admit(_inbound(value, headers), body.reported_us)
    assert isinstance(verdict, DeadLetter) and verdict.error_type == "label-mismatch"


def test_a_restricted_report_is_refused_by_a_system_it_is_not_released_to(keys) -> None:  # type: ignore[no-untyped-def]
    signers, trust = keys
    policy = ReleasePolicy(restricted_fraction=1.0)
    value, headers, body = _signed(
        Labeller(Nation.KOR, signers["KOR"], policy), make_warning(nation=Nation.KOR)
    )
    jpnus = tuple(sorted(System.JPNUS.audience))
    verdict = _admission(trust, jpnus).admit(_inbound(value, headers), body.reported_us)
    assert isinstance(verdict, DeadLetter) and verdict.error_type == "not-releasable"
    rokus = tuple(sorted(System.ROKUS.audience))
    verdict = _admission(trust, rokus).admit(_inbound(value, headers), body.reported_us)
    assert not isinstance(verdict, DeadLetter), verdict


def test_the_release_policy_picks_the_same_tracks_every_time() -> None:
    policy = ReleasePolicy(restricted_fraction=0.3, seed=7)
    ids = [f"KOR-{i:04d}" for i in range(1000)]
    chosen = [t for t in ids if policy.restricted(t)]
    assert chosen == [
        t for t in ids if ReleasePolicy(restricted_fraction=0.3, seed=7).restricted(t)
    ]
    assert 250 <= len(chosen) <= 350
    label = policy.label(Nation.KOR, chosen[0], 1)
    assert label.marking() == "SECRET//REL TO USA, KOR"
    assert not ReleasePolicy().restricted(chosen[0])


def test_labelled_output_is_byte_deterministic(keys) -> None:  # type: ignore[no-untyped-def]
    signers, _ = keys
    labeller = Labeller(Nation.KOR, signers["KOR"], ReleasePolicy(restricted_fraction=0.5))
    w = make_warning(nation=Nation.KOR)
    assert _signed(labeller, w)[:2] == _signed(labeller, w)[:2]


def test_an_alert_is_labelled_at_its_highest_contributor_for_its_system(keys) -> None:  # type: ignore[no-untyped-def]
    signers, trust = keys
    w = make_warning(nation=Nation.KOR)
    engine = Engine(EngineConfig(), CODEC, lambda: w.reported_us)
    protection = Protection(signers["BRIDGE"], trust, System.ROKUS.audience)
    engine.process_warnings([(TOPICS.warnings_kor, w)])
    (track,) = engine.tracks.values()
    for member in track.members.values():
        member.classification = Classification.SECRET.value
    label = protection.alert_label(make_alert(), track)
    assert label.classification is Classification.SECRET
    assert label.releasable_to == System.ROKUS.audience
    assert protection.alert_label(make_alert(), None).classification is Classification.UNCLASSIFIED


def test_each_system_fuses_its_publishers_and_the_other_partner_released_across() -> None:
    config = system_config(BridgeConfig(), System.JPNUS)
    inputs = config.engine.input_topics()
    assert inputs == {
        TOPICS.warnings_usa: Nation.USA,
        TOPICS.warnings_jpn: Nation.JPN,
        TOPICS.crossed_kor: Nation.KOR,
    }
    assert set(config.engine.validation.releasable_to) == {Nation.USA, Nation.JPN}
    assert config.group.endswith("jpnus") and config.transactional_id.endswith("jpnus")
