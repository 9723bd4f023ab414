# Bullpen in a container: a static binary (CGO_ENABLED=0; the SQLite driver,
# modernc.org/sqlite, is pure Go), run as a non-root user, its SQLite file on
# a volume.
#
#   docker build -t bullpen .
#   docker run -p 8080:8080 -v bullpen-data:/data bullpen
#   docker run -p 8080:8080 -e BULLPEN_DB='postgres://...' bullpen   # PostgreSQL instead
#
# Every flag has an environment variable (README, Configuration).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# web/dist (GraphiQL) is committed: no Node.js needed here.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bullpen . \
	&& /out/bullpen -help > /dev/null 2>&1

FROM alpine:3.22
RUN addgroup -S -g 10001 bullpen && adduser -S -D -H -u 10001 -G bullpen bullpen \
	&& mkdir /data && chown bullpen:bullpen /data
COPY --from=build /out/bullpen /usr/local/bin/bullpen
USER bullpen:bullpen
VOLUME /data
ENV BULLPEN_ADDR=:8080 \
	BULLPEN_DB=sqlite:/data/bullpen.db
EXPOSE 8080
# /healthz answers while the process serves; /readyz also checks the database.
# The port is BULLPEN_ADDR's, so a container run with another one is checked
# where it listens.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
	CMD wget -q -O /dev/null "http://127.0.0.1:${BULLPEN_ADDR##*:}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/bullpen"]
