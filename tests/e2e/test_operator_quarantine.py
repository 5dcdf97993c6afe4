"""A webhook quarantined by a wrong mapping is re-ingested after the mapping is fixed, and delivered."""

from __future__ import annotations

from pathlib import Path

import httpx2

from .harness import Inbox, ServiceProcess, chat, free_port, site_id, start_sandbox, texts, wait_until, write_config

AUTH = ("ops", "ops-password")


def test_reingest_after_fixing_the_mapping(tmp_path: Path) -> None:
    sandbox = start_sandbox(["shop"])
    port = free_port()
    config = write_config(
        tmp_path / "inboxbridge.toml", sandbox.url, {"shop": {}}, port=port, database=tmp_path / "ib.db"
    )
    good = config.read_text() + f'[admin]\nusername = "{AUTH[0]}"\npassword = "{AUTH[1]}"\n'
    config.write_text(good.replace('email = "customer.email"', 'email = "customer.mail"'))
    service = ServiceProcess(config, port, tmp_path / "service.log").start()
    try:
        refused = service.post("shop", "chat", chat("q1", "ana@example.com", "kept in quarantine"))
        assert refused.status_code == 400
        quarantine_id = refused.json()["quarantineId"]
        api = f"{service.url}/admin/api/quarantine/{quarantine_id}"
        assert httpx2.post(f"{api}/reingest", auth=AUTH).status_code == 422

        service.stop()
        config.write_text(good)
        service.start()
        result = httpx2.post(f"{api}/reingest", auth=AUTH).json()
        assert (result["accepted"], result["duplicates"], result["ignored"]) == (1, 0, False)
        assert httpx2.get(api, auth=AUTH).status_code == 404
        box = Inbox(sandbox.url, site_id(0))
        wait_until(lambda: [texts(m) for m in box.all_messages()] == ["kept in quarantine"], what="the delivery")
    finally:
        service.stop()
        sandbox.stop()
