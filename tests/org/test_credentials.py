"""Password hashes: Argon2id at a cost a class signing in together can afford."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from hub.org.credentials import hash_password, verify_password


def test_hashes_are_argon2id_with_the_owasp_minimum() -> None:
    parameters = extract_parameters(hash_password("xuexi-2026"))
    assert parameters.type.name == "ID"
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        19 * 1024, 2, 1)


def test_hashes_made_with_other_parameters_still_verify() -> None:
    older = PasswordHasher().hash("xuexi-2026")
    assert verify_password(older, "xuexi-2026")
    assert not verify_password(older, "xuexi-2027")

