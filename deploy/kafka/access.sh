#!/bin/sh
# Compose's kafka-access job (deploy/compose.yaml): creates each service's SCRAM-SHA-512 user,
# its password from KAFKA_PASSWORD_<USER> (deploy/.env), and the ACLs of
# deploy/kafka/service-acls.tsv (generated from contracts/kafka_access.py), logged in as the
# super user `admin`. Both are idempotent: a second `up` changes nothing.
set -eu
bin=/opt/kafka/bin
acls=${1:-/liandong/service-acls.tsv}
config=/tmp/admin.properties
printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="%s";\n' \
  "$KAFKA_ADMIN_PASSWORD" > "$config"
tab=$(printf '\t')

for user in $(grep -v '^#' "$acls" | cut -f1 | sort -u); do
  variable=KAFKA_PASSWORD_$(echo "$user" | tr '[:lower:]-' '[:upper:]_')
  password=$(printenv "$variable" || true)
  if [ -z "$password" ]; then
    echo "kafka-access: $variable is not set (deploy/.env)" >&2
    exit 2
  fi
  "$bin/kafka-configs.sh" --bootstrap-server kafka:9092 --command-config "$config" --alter \
    --entity-type users --entity-name "$user" --add-config "SCRAM-SHA-512=[password=$password]"
done

grep -v '^#' "$acls" | while IFS="$tab" read -r user resource pattern name operations; do
  set --
  for operation in $(echo "$operations" | tr ',' ' '); do
    set -- "$@" --operation "$operation"
  done
  "$bin/kafka-acls.sh" --bootstrap-server kafka:9092 --command-config "$config" --add \
    --allow-principal "User:$user" "$@" "--$resource" "$name" --resource-pattern-type "$pattern" \
    > /dev/null
done
echo "kafka-access: users and ACLs of $(grep -vc '^#' "$acls") lines in place"
