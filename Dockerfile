# Sunlamp's image: the static binary alone (no shell, no libc, no package manager).
#
#   docker build -t sunlamp .
#   docker run -p 8090:8090 -v sunlamp-data:/data sunlamp
#
# The binary is pure Go (CGO_ENABLED=0; SQLite is modernc.org/sqlite) and carries Go's fallback
# certificate roots, so that webhooks to https:// targets work in an image without a CA bundle.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -buildid= -X main.buildVersion=${VERSION} -X main.buildCommit=${COMMIT}" \
      -o /out/sunlamp ./cmd/sunlamp \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /out/sunlamp /sunlamp
# The data folder belongs to the unprivileged user the server runs as (no passwd file needed).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
ENV SUNLAMP_ADDR=0.0.0.0:8090 \
    SUNLAMP_DB=sqlite:/data/sunlamp.db
EXPOSE 8090
ENTRYPOINT ["/sunlamp"]
CMD ["serve"]
