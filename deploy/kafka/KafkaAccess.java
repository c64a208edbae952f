// Creates Kafka users (SCRAM-SHA-512) and allow ACLs from a tab-separated file, in one Admin
// client session. Run from source, with the broker's jars on the class path:
//
//   java -cp '<kafka libs>/*' deploy/kafka/KafkaAccess.java admin.properties access.tsv
//
// admin.properties: the Admin client's settings (bootstrap.servers, security.protocol,
// sasl.mechanism, sasl.jaas.config of a super user). access.tsv, written by
// services/runtime/secure_kafka.py from contracts/kafka_access.py, has lines:
//   user <name> <password>
//   acl <user> <topic|group> <LITERAL|PREFIXED> <resource name> <Read|Write|Describe>
// Why Java: aiokafka's admin client speaks neither AlterUserScramCredentials nor a CreateAcls
// version that Kafka 4 still accepts; Kafka's own Admin client speaks both.

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class KafkaAccess {
    private static final int SCRAM_ITERATIONS = 4096;

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: KafkaAccess <admin.properties> <access.tsv>");
            System.exit(2);
        }
        Properties config = new Properties();
        try (var in = Files.newInputStream(Path.of(args[0]))) {
            config.load(in);
        }
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        List<AclBinding> acls = new ArrayList<>();
        int number = 0;
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            number++;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f[0].equals("user") && f.length == 3) {
                users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), f[2]));
            } else if (f[0].equals("acl") && f.length == 6) {
                ResourcePattern resource = new ResourcePattern(
                        ResourceType.fromString(f[2]), f[4], PatternType.fromString(f[3]));
                AccessControlEntry entry = new AccessControlEntry(
                        "User:" + f[1], "*", AclOperation.fromString(f[5]), AclPermissionType.ALLOW);
                if (resource.resourceType() == ResourceType.UNKNOWN
                        || resource.patternType() == PatternType.UNKNOWN
                        || entry.operation() == AclOperation.UNKNOWN) {
                    throw new IllegalArgumentException(
                            args[1] + ":" + number + ": unknown name in " + resource + " " + entry);
                }
                acls.add(new AclBinding(resource, entry));
            } else {
                throw new IllegalArgumentException(args[1] + ":" + number + ": not a user or acl line");
            }
        }
        try (Admin admin = Admin.create(config)) {
            if (!users.isEmpty()) {
                admin.alterUserScramCredentials(users).all().get();
            }
            if (!acls.isEmpty()) {
                admin.createAcls(acls).all().get();
            }
        }
        System.out.println(users.size() + " users, " + acls.size() + " ACLs");
    }
}
