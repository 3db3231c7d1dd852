#!/bin/sh
# Set up one trilink system's Kafka cluster: SCRAM credentials, topics and ACLs.
#
#   acls.sh rokus|jpnus
#
# Run once per cluster by the one-shot services acls-rokus and acls-jpnus
# (docker-compose.yml). They use the apache/kafka image and share the broker's network
# namespace (network_mode: "service:kafka-<system>"), so 127.0.0.1:9095 is that broker's
# ADMIN listener: PLAINTEXT, bound to the loopback interface, its principal
# User:ANONYMOUS a super user. Nothing outside the broker's network namespace reaches it.
#
# Idempotent: credentials are replaced, existing topics kept, ACLs added again.
#
# Passwords come from the environment (TRILINK_*_PASSWORD; docker-compose.yml gives
# development defaults). They are development-only: a real deployment takes them from
# a secret store and each party knows only its own.
#
# Topics are created here, with trilink's partition counts (trilink.kafka.ensure_topics:
# 3 by default, 1 for the clock, heartbeat and leader-lock topics), and no principal is
# granted CREATE: what lives on each system is decided by its set-up, and a client
# pointed at the wrong system (say a Japanese producer on ROK-US) fails on a missing
# topic instead of creating one there.
#
# Idempotent producers need only WRITE on a topic since Kafka 3.0 (KIP-679), so no
# principal gets IdempotentWrite on the cluster; the bridge's transactional producer is
# authorised by its TransactionalId ACLs.
set -eu
# No globbing: '*' below is Kafka's wildcard resource name, not a file pattern.
set -f

system=${1:-}
BIN=${KAFKA_BIN:-/opt/kafka/bin}
ADMIN=${TRILINK_ADMIN_BOOTSTRAP:-127.0.0.1:9095}

# Topic names: trilink.config.Topics. crossed.<nation>: that nation's reports the bridge
# releases to the other bilateral system (crossed.kor on JPN-US, crossed.jpn on ROK-US).
LAUNCHES=launches.truth
ALERTS=alerts.trilateral
DEADLETTER=trilink.deadletter
STATE=bridge.state
LEADER=bridge.leader
CLOCK=trilink.clock
HEARTBEATS=trilink.heartbeats
USA_WARNINGS=warnings.usa

case "$system" in
rokus)
    nation=kor
    nation_password=${TRILINK_KOR_PASSWORD:?}
    usa_password=${TRILINK_USFK_PASSWORD:?}
    bridge_password=${TRILINK_BRIDGE_ROKUS_PASSWORD:?}
    crossing=crossed.jpn
    ;;
jpnus)
    nation=jpn
    nation_password=${TRILINK_JPN_PASSWORD:?}
    usa_password=${TRILINK_USFJ_PASSWORD:?}
    bridge_password=${TRILINK_BRIDGE_JPNUS_PASSWORD:?}
    crossing=crossed.kor
    ;;
*)
    echo "usage: $0 rokus|jpnus" >&2
    exit 2
    ;;
esac
world_password=${TRILINK_WORLD_PASSWORD:?}
ops_password=${TRILINK_OPS_PASSWORD:?}
NATION_WARNINGS=warnings.$nation

log() {
    echo "acls[$system]: $*"
}

# The broker answers on its admin listener (the healthcheck passed, but give it time).
wait_for_broker() {
    tries=0
    until "$BIN/kafka-broker-api-versions.sh" --bootstrap-server "$ADMIN" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "acls[$system]: broker not answering on $ADMIN" >&2
            exit 1
        fi
        sleep 2
    done
}

# scram USER PASSWORD: (re)create USER's SCRAM-SHA-512 credential. The password must not
# contain ',', '[' or ']' (kafka-configs.sh's list syntax).
scram() {
    log "SCRAM-SHA-512 credential for $1"
    "$BIN/kafka-configs.sh" --bootstrap-server "$ADMIN" --alter \
        --add-config "SCRAM-SHA-512=[password=$2]" \
        --entity-type users --entity-name "$1" >/dev/null
}

# topic NAME PARTITIONS
topic() {
    "$BIN/kafka-topics.sh" --bootstrap-server "$ADMIN" --create --if-not-exists \
        --topic "$1" --partitions "$2" --replication-factor 1 >/dev/null
}

# allow USER PATTERN RESOURCE-TYPE "NAME ..." "OPERATION ...": every operation on every
# named resource, PATTERN literal or prefixed, RESOURCE-TYPE topic, group or
# transactional-id.
allow() {
    user=$1 pattern=$2 kind=$3 names=$4 operations=$5
    set -- --bootstrap-server "$ADMIN" --add --allow-principal "User:$user" \
        --resource-pattern-type "$pattern"
    for name in $names; do
        set -- "$@" "--$kind" "$name"
    done
    for operation in $operations; do
        set -- "$@" --operation "$operation"
    done
    log "allow $user $operations on $kind ($pattern) $names"
    "$BIN/kafka-acls.sh" "$@" >/dev/null
}

# A national producer (kor or jpn, and usa: US Forces Korea on ROK-US, US Forces Japan on
# JPN-US): writes and reads back its own warnings (producers/resume.py), reads the
# launches it simulates and the fused alerts, keeps the session clock, publishes
# heartbeats and dead-letters undecodable launches (write only: no nation reads dead
# letters). Consumer groups: trilink-producer-<nation> and its -resume (producers/service.py).
national() {
    # $1 principal, $2 its warnings topic, $3 its consumer-group prefix
    allow "$1" literal topic "$2" "WRITE READ"
    allow "$1" literal topic "$LAUNCHES $ALERTS" "READ"
    allow "$1" literal topic "$CLOCK" "READ WRITE"
    allow "$1" literal topic "$HEARTBEATS $DEADLETTER" "WRITE"
    allow "$1" prefixed group "$3" "READ"
    ephemeral_groups "$1"
}

# Groups with a random suffix that every trilink client uses to read by assignment
# (no committed offsets): trilink-probe-<uuid> (the reachability probe), trilink-clock-<ns>
# (the session clock reader), trilink-cli-<uuid> (trilink alerts / warnings). The names
# are not per principal, so these prefixes are shared; nothing is committed under them.
ephemeral_groups() {
    allow "$1" prefixed group "trilink-probe- trilink-clock- trilink-cli-" "READ"
}

wait_for_broker

log "credentials"
scram "$nation" "$nation_password"
scram usa "$usa_password"
scram bridge "$bridge_password"
scram world "$world_password"
scram ops "$ops_password"

log "topics"
for name in "$LAUNCHES" "$NATION_WARNINGS" "$USA_WARNINGS" "$ALERTS" "$DEADLETTER" \
    "$STATE" "$crossing"; do
    topic "$name" 3
done
for name in "$CLOCK" "$HEARTBEATS" "$LEADER"; do
    topic "$name" 1
done

log "ACLs"
national "$nation" "$NATION_WARNINGS" "trilink-producer-$nation"
national usa "$USA_WARNINGS" trilink-producer-usa

# The bridge (INDOPACOM): the only principal on both systems. It reads every warning
# topic and crossing topic here, writes the fused alerts, its state, dead letters,
# heartbeats, the session clock (it copies it across) and the reports it releases to
# this system; exactly-once under TransactionalId trilink-bridge*, offsets in groups
# trilink-bridge* (trilink-bridge, trilink-bridge-leader: cli/bridge.py, bridge/service.py).
allow bridge literal topic "$NATION_WARNINGS $USA_WARNINGS $crossing" "READ"
allow bridge literal topic "$ALERTS $STATE $LEADER $DEADLETTER $CLOCK" "READ WRITE"
allow bridge literal topic "$HEARTBEATS $crossing" "WRITE"
allow bridge prefixed transactional-id trilink-bridge "WRITE DESCRIBE"
allow bridge prefixed group trilink-bridge "READ"
ephemeral_groups bridge

# The simulated world (trilink inject): not a party. It writes the ground-truth launches
# to both systems and reads the session clock to time them.
allow world literal topic "$LAUNCHES" "WRITE"
allow world literal topic "$CLOCK" "READ"
ephemeral_groups world

# Operations staff of this system: dead letters, heartbeats (trilink status), alerts,
# and what topics and groups exist (trilink topics). No national warnings.
allow ops literal topic "$DEADLETTER $HEARTBEATS $ALERTS $CLOCK" "READ"
allow ops literal topic "*" "DESCRIBE"
allow ops literal group "*" "DESCRIBE"
allow ops prefixed group "trilink-status- trilink-inspect-" "READ"
ephemeral_groups ops

log "done"
