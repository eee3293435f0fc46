# syntax=docker/dockerfile:1

# caseflow image: both binaries (caseflow CLI, caseflow-worker) on a distroless
# static base, running as an unprivileged user. Used by docker-compose.yml:
#   caseflow migrate | caseflow codec-server ... | caseflow-worker
#
#   docker build -t caseflow:local .

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src

# Module downloads in their own layer so source edits don't refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out && \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -o /out/ ./cmd/...

# distroless/static: CA certificates, tzdata and /etc/passwd only; no shell.
# The :nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/caseflow /out/caseflow-worker /usr/local/bin/
# Program policies and the demo data (payer simulator behaviour, provider slots).
COPY policies/ /usr/share/caseflow/policies/
COPY demo/ /usr/share/caseflow/demo/
USER nonroot:nonroot
# Override per service: ["caseflow", "migrate"], ["caseflow", "codec-server", ...].
CMD ["caseflow-worker"]
