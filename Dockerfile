# Two images from one build, with BuildKit (Docker's builder since 23.0; on older Docker set
# DOCKER_BUILDKIT=1):
#   docker build --target gateway -t sandbox-ssh/gateway .
#   docker build --target agent   -t sandbox-ssh/agent .
# How to run them (flags, volumes, admin commands): "Docker images" in README.md. .ci/docker-images
# builds both and checks the gateway image end to end.
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY . .
# Maven's repository is a build cache, not a layer: a change to the sources builds again without
# downloading the dependencies again.
RUN --mount=type=cache,id=sandbox-ssh-m2,target=/root/.m2/repository \
    mvn -B -q -pl sandbox-agent,sshd-gateway -am package -DskipTests

# The gateway. It confines its local sandboxes with bubblewrap (user, pid, mount, network, ipc
# and uts namespaces; an allowlisted view of the image's files), which in a container needs
#   docker run --security-opt seccomp=unconfined --security-opt systempaths=unconfined ...
# (Docker's seccomp profile refuses the namespaces; its masked /proc paths make bwrap fail with
# "Can't mount proc"). It runs as uid 10001, not root: as root it needs far more to work at all,
# CAP_SYS_ADMIN for the private mount namespace it stages each sandbox's files in, and
# CAP_NET_ADMIN, CAP_SYS_PTRACE and /dev/net/tun for slirp4netns, which together with
# seccomp=unconfined leave the container little of a boundary. What a non-root gateway gives up
# (it says so at start): every sandbox runs as its uid 10001 outside its namespaces instead of a
# uid of its own, sandboxes have loopback only (no outbound network), and, as a root one in a
# container here too, no cgroup limits (Docker mounts /sys/fs/cgroup read-only), so limit the
# container itself (--pids-limit, --memory). README.md, "Docker images", has the root variant.
FROM eclipse-temurin:25-jre AS gateway
# rsync and git are there for sandboxes (they see the image's /usr); curl for the HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap slirp4netns git rsync curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --user-group --no-create-home --uid 10001 --home-dir /srv/sandbox-ssh --shell /usr/sbin/nologin sandbox-ssh \
    && mkdir -p /srv/sandbox-ssh/data /srv/sandbox-ssh/keys \
    && chown sandbox-ssh:sandbox-ssh /srv/sandbox-ssh/data /srv/sandbox-ssh/keys \
    && chmod 0700 /srv/sandbox-ssh/data /srv/sandbox-ssh/keys
COPY --from=build /src/sshd-gateway/target/sshd-gateway.jar /opt/sandbox-ssh/sshd-gateway.jar
COPY config/ /srv/sandbox-ssh/config/
WORKDIR /srv/sandbox-ssh
# The ownership table, local sandboxes and the host key: keep them across containers.
VOLUME ["/srv/sandbox-ssh/data", "/srv/sandbox-ssh/keys"]
USER sandbox-ssh
EXPOSE 2222
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:9090/healthz || exit 1
ENTRYPOINT ["java", "-jar", "/opt/sandbox-ssh/sshd-gateway.jar"]
CMD ["serve", "--config", "config/docker.yaml"]

# The agent inside a sandbox image: a platform starts it with its own token and registers the
# endpoint with `sandbox create --endpoint HOST:PORT --token-file FILE`. Build a sandbox image
# FROM this one with the tools its users want; the agent runs as that image's user.
FROM eclipse-temurin:25-jre AS agent
RUN useradd --create-home --uid 10001 --shell /bin/bash user
COPY --from=build /src/sandbox-agent/target/sandbox-agent.jar /opt/sandbox-ssh/sandbox-agent.jar
USER user
WORKDIR /home/user
EXPOSE 7000
ENTRYPOINT ["java", "-jar", "/opt/sandbox-ssh/sandbox-agent.jar"]
CMD ["--listen", "0.0.0.0:7000", "--token-file", "/run/secrets/agent-token"]
