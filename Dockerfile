# syntax=docker/dockerfile:1
# The chat server (src/Chat.Server) as a container image.
#
#   docker build -t chat-server .
#   docker run --rm -p 8000:8000 -v chat-certs:/certs -e CHAT_DEMO_USERS=1 chat-server
#
# Configuration is through CHAT_* environment variables, one per flag (PROTOCOL.md, "Starting a
# server"): CHAT_PORT, CHAT_BIND, CHAT_REDIS=host:port, CHAT_CERT/CHAT_KEY, CHAT_CERT_DIR,
# CHAT_SERVER_ID, CHAT_DUPLICATE_LOGIN, CHAT_DEMO_USERS=1, CHAT_BCRYPT_COST, CHAT_LOG_LEVEL,
# CHAT_LOG_FORMAT=json, CHAT_METRICS (default 0.0.0.0:9100 here), ...
# Flags after the image name are passed to the server too, and beat the variables.
#
# Note: .NET 10's default image tags (sdk:10.0, runtime:10.0) are Ubuntu 24.04 "noble" based;
# both stages have bash, groupadd and useradd.

# ---- build: restore, then publish the server and the project it references, nothing else ----
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
WORKDIR /src

# Paket restores every package (paket.dependencies, paket.lock; the local tool in .config). The feed is
# the SDK image's own NuGet source (build/NuGetSource.targets reads it when NUGET_SOURCE is unset);
# `--build-arg NUGET_SOURCE=<v3 index>` points it at a mirror instead.
ARG NUGET_SOURCE
ENV NUGET_SOURCE=${NUGET_SOURCE}
# Project files first: the restore layer is reused until a dependency or project file changes.
COPY .config/dotnet-tools.json .config/
COPY .paket/Paket.Restore.targets .paket/
COPY paket.dependencies paket.lock Directory.Build.props Directory.Build.targets ./
COPY build/ build/
COPY src/Chat.Domain/Chat.Domain.fsproj src/Chat.Domain/paket.references src/Chat.Domain/
COPY src/Chat.Server/Chat.Server.fsproj src/Chat.Server/paket.references src/Chat.Server/
RUN dotnet restore src/Chat.Server/Chat.Server.fsproj

COPY src/Chat.Domain/ src/Chat.Domain/
COPY src/Chat.Server/ src/Chat.Server/
# UseAppHost=false: the image runs `dotnet Chat.Server.dll`, no native launcher needed.
RUN dotnet publish src/Chat.Server/Chat.Server.fsproj -c Release -o /app --no-restore -p:UseAppHost=false

# ---- runtime ----
FROM mcr.microsoft.com/dotnet/runtime:10.0 AS runtime

# An unprivileged user with a fixed uid (10001), so host-side files (a bind-mounted cert
# directory, say) can be given to it by number.
RUN groupadd --system --gid 10001 chat \
 && useradd --system --uid 10001 --gid chat --home-dir /home/chat --create-home --shell /usr/sbin/nologin chat \
 && mkdir -p /certs \
 && chown chat:chat /certs \
 && chmod 0750 /certs

WORKDIR /app
COPY --from=build /app ./

# Without CHAT_CERT/CHAT_KEY the server keeps server.crt/server.key in CHAT_CERT_DIR, generating a
# self-signed pair (SAN localhost, 127.0.0.1) on first start and reusing it afterwards. /certs is a
# volume: a new named volume starts as a copy of the directory above (owned by uid 10001), so the
# certificate is generated into it; or mount a host directory holding server.crt and server.key
# (readable by uid 10001) there. Several replicas may share it: the server takes a lock file while
# generating.
ENV CHAT_CERT_DIR=/certs \
    CHAT_PORT=8000
# OpenSSL's defaults for this process: the TLS handshake offers and accepts only TLS 1.3 and ECDHE
# AES-GCM/ChaCha20 suites of TLS 1.2 (the file is published beside the server). The server points
# OPENSSL_CONF there itself when it is unset; set here, the choice shows in `docker inspect`, and a
# mounted file can replace it without a rebuild. The server checks at startup that the restriction
# took effect (a weak-suite handshake is refused), and exits 2 with one line if not.
ENV OPENSSL_CONF=/app/openssl-aead.cnf
VOLUME ["/certs"]

USER 10001:10001
EXPOSE 8000

# Prometheus metrics at http://<container>:9100/metrics and the health check at /healthz (README,
# "Operating"). Set CHAT_METRICS to another address:port to move them, or to "" to serve neither.
ENV CHAT_METRICS=0.0.0.0:9100
EXPOSE 9100

# GET /healthz through bash's /dev/tcp (the image has no curl): healthy on "200", that is while the
# server takes logins and reaches Redis; 503 during a Redis outage or a shutdown. A wildcard
# CHAT_METRICS address is reached on 127.0.0.1. With CHAT_METRICS empty it falls back to opening a
# TCP connection to the chat port (CHAT_BIND, CHAT_PORT), which the server drops before any TLS.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "m=${CHAT_METRICS:-}; if [ -z \"$m\" ]; then h=${CHAT_BIND:-127.0.0.1}; case $h in 0.0.0.0|::) h=127.0.0.1;; esac; exec 3<>/dev/tcp/$h/${CHAT_PORT:-8000} && exit 0; exit 1; fi; h=${m%:*}; case $h in 0.0.0.0|::|'[::]') h=127.0.0.1;; esac; h=${h#[}; h=${h%]}; exec 3<>/dev/tcp/$h/${m##*:} || exit 1; printf 'GET /healthz HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$h\" >&3; read -r status <&3; [[ $status == *' 200 '* ]]"]

# Exec form: the server is PID 1 and gets SIGTERM from `docker stop` directly; it then sends
# SYS SHUTDOWN to its clients, removes its sessions from shared state and exits 0 (within ~10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "/app/Chat.Server.dll"]
