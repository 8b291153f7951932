# Two images from one build:
#   docker build --target gateway -t sandbox-ssh/gateway .
#   docker build --target agent   -t sandbox-ssh/agent .
# The gateway image isolates local sandboxes with bubblewrap, slirp4netns and cgroups, so its
# container needs user namespaces (--security-opt seccomp=unconfined --security-opt
# systempaths=unconfined), /dev/net/tun (--device /dev/net/tun) and a writable cgroup hierarchy.
# With less, the gateway names at start each part it cannot set up, and with
# local.isolation: required it refuses to start sandboxes instead.
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q package -DskipTests

FROM eclipse-temurin:25-jre AS gateway
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap slirp4netns git rsync \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/sandbox-ssh
COPY --from=build /src/sshd-gateway/target/sshd-gateway.jar /opt/sandbox-ssh/sshd-gateway.jar
COPY config/ /srv/sandbox-ssh/config/
EXPOSE 2222
ENTRYPOINT ["java", "-jar", "/opt/sandbox-ssh/sshd-gateway.jar"]
CMD ["serve", "--host", "0.0.0.0", "--config", "config/gateway.yaml"]

# The agent inside a sandbox image: a platform starts it with its own token and registers the
# endpoint with `sandbox create --endpoint HOST:PORT --token-file FILE`.
FROM eclipse-temurin:25-jre AS agent
COPY --from=build /src/sandbox-agent/target/sandbox-agent.jar /opt/sandbox-ssh/sandbox-agent.jar
ENTRYPOINT ["java", "-jar", "/opt/sandbox-ssh/sandbox-agent.jar"]
CMD ["--listen", "0.0.0.0:7000", "--token-file", "/run/secrets/agent-token"]
