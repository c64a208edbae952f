"""The KRaft cluster id the embedded broker formats its storage with."""

import base64

from services.runtime import apache_kafka


def test_a_cluster_id_never_starts_with_a_dash_which_kafka_storage_reads_as_an_option() -> None:
    ids = {apache_kafka.cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
