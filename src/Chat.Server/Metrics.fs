namespace Chat.Server

open System.Collections.Generic
open Prometheus
open Chat.Domain

/// What logs a connection in: the `command` label of `chat_logins_total`.
[<RequireQualifiedAccess>]
type LoginCommand =
    | Login
    | Register
    | Resume

/// What was refused for going over a limit: the `limit` label of `chat_rate_limited_total`.
[<RequireQualifiedAccess>]
type Limit =
    /// LOGIN past `--login-failures`.
    | Login
    /// A room message or publication past `--msg-rate`.
    | Message
    /// A connection past `--max-conns-per-address`.
    | ConnectionsPerAddress
    /// A connection past `--max-conns`.
    | Connections
    /// A REGISTER past `--register-rate`.
    | Register

/// Why a connection ended before its TLS session started: `chat_handshakes_failed_total`'s `reason`.
[<RequireQualifiedAccess>]
type HandshakeFailure =
    /// Its first byte was not a TLS record: `ERR TLS_REQUIRED`.
    | Plaintext
    /// Not done within `--handshake-timeout`.
    | Timeout
    /// The suite negotiated is not an AEAD one.
    | Cipher
    /// TLS refused it (no common version or suite, a bad record).
    | Tls
    /// The peer went away first.
    | Closed

/// The server's numbers, on a registry of its own (`/metrics` exports it): made once at startup
/// and passed to whatever counts. Everything here is the library's lock-free counters, gauges and
/// histograms; labelled children are made up front so counting looks nothing up. Values that
/// exist anyway (open connections, outbox depths, Redis up) are read when scraped, not counted.
type ServerMetrics() =
    let registry = Metrics.NewCustomRegistry()
    // No exemplars: they would read the current Activity on every increment.
    let factory = Metrics.WithCustomRegistry registry
    do factory.ExemplarBehavior <- ExemplarBehavior.NoExemplars()
    do DotNetStats.Register registry

    let counter name help (labels: string array) =
        factory.CreateCounter(name, help, labels)

    let gauge name help = factory.CreateGauge(name, help)

    let accepted =
        counter "chat_connections_accepted_total" "TCP connections accepted (within the limits)." [||]

    let connectionsOpen =
        gauge "chat_connections_open" "TCP connections open, handshaking or in session."

    let sessions = gauge "chat_sessions" "Logged-in sessions on this instance."

    let handshakes =
        counter "chat_handshakes_failed_total" "Connections that ended before their TLS session started, by reason." [|
            "reason"
        |]

    let logins =
        counter
            "chat_logins_total"
            "Login attempts by command (login, register, resume) and outcome (ok, auth_failed, rate_limited, duplicate_rejected, user_exists, unavailable)."
            [| "command"; "outcome" |]

    let commands =
        counter
            "chat_commands_total"
            "Client lines taken as commands, by verb (say: a room message; unknown: an unknown /word)."
            [| "verb" |]

    let messagesIn =
        counter "chat_messages_in_total" "Messages taken in past the rate limit, by kind (room, publish)." [| "kind" |]

    let delivered =
        counter "chat_lines_delivered_total" "Lines from the streams queued to this instance's sessions." [||]

    let slow =
        counter "chat_slow_consumers_total" "Connections closed because their outbound queue overflowed." [||]

    let limited =
        counter "chat_rate_limited_total" "Refusals for going over a limit, by limit." [| "limit" |]

    let outboxLines =
        gauge "chat_outbox_lines" "Outbound lines queued, summed over this instance's connections."

    let outboxMax =
        gauge "chat_outbox_lines_max" "Outbound lines queued on the fullest connection."

    let redisLatency =
        factory.CreateHistogram(
            "chat_redis_command_duration_seconds",
            "Round trip of the server's blocking Redis calls (logins, moves, publications, queries).",
            HistogramConfiguration(Buckets = Histogram.ExponentialBuckets(0.0001, 2.0, 16))
        )

    let redisDown =
        counter "chat_redis_unavailable_seconds_total" "Time Redis was not connected, in seconds." [||]

    let sharedUp =
        gauge "chat_shared_state_up" "1 when the shared state (Redis; without it, this instance's memory) is reachable."

    let busReceived =
        counter
            "chat_bus_events_received_total"
            "Stream events that arrived through the sharded channels this instance reads."
            [||]

    let busNeeded =
        counter
            "chat_bus_events_needed_total"
            "Bus events this instance needed: at least one local session got a line from it (a login's own welcome aside). Over chat_bus_events_received_total, it shows how many received events were of no use here."
            [||]

    let busRecovered =
        counter
            "chat_bus_events_recovered_total"
            "Stream entries read back by id (a gap closed, or a subscription came back)."
            [||]

    let busLost =
        counter
            "chat_bus_events_lost_total"
            "Losses reported by a stream: entries trimmed before they were read back, or delivered entries a failover took out of the stream."
            [||]

    let handshakeChildren =
        dict [
            for r, label in
                [
                    HandshakeFailure.Plaintext, "plaintext"
                    HandshakeFailure.Timeout, "timeout"
                    HandshakeFailure.Cipher, "cipher"
                    HandshakeFailure.Tls, "tls"
                    HandshakeFailure.Closed, "closed"
                ] -> r, handshakes.WithLabels label
        ]

    let outcomes = [
        LoginOutcome.Ok, "ok"
        LoginOutcome.AuthFailed, "auth_failed"
        LoginOutcome.RateLimited, "rate_limited"
        LoginOutcome.DuplicateRejected, "duplicate_rejected"
        LoginOutcome.UserExists, "user_exists"
        LoginOutcome.Unavailable, "unavailable"
    ]

    let loginChildren =
        dict [
            for command, name in
                [
                    LoginCommand.Login, "login"
                    LoginCommand.Register, "register"
                    LoginCommand.Resume, "resume"
                ] do
                for o, label in outcomes -> (command, o), logins.WithLabels(name, label)
        ]

    let verbName (verb: Verb) =
        (Verb.usage verb).Split(' ').[0].TrimStart('/').ToLowerInvariant()

    let verbChildren =
        Dictionary<Verb, Counter.Child>(
            dict [ for v in Verb.all -> v, commands.WithLabels(verbName v) ],
            HashIdentity.Structural
        )

    let sayCommand = commands.WithLabels "say"
    let unknownCommand = commands.WithLabels "unknown"
    let roomIn = messagesIn.WithLabels "room"
    let publishIn = messagesIn.WithLabels "publish"

    let limitChildren =
        dict [
            Limit.Login, limited.WithLabels "login"
            Limit.Message, limited.WithLabels "message"
            Limit.ConnectionsPerAddress, limited.WithLabels "connections_per_address"
            Limit.Connections, limited.WithLabels "connections"
            Limit.Register, limited.WithLabels "register"
        ]

    /// The registry `/metrics` exports.
    member _.Registry = registry

    member _.ConnectionAccepted() = accepted.Inc()
    member _.HandshakeFailed(reason: HandshakeFailure) = handshakeChildren[reason].Inc()

    member _.Login(command: LoginCommand, outcome: LoginOutcome) = loginChildren[(command, outcome)].Inc()

    /// One parsed client line.
    member _.Command(parsed: Result<Command, ParseError>) =
        match parsed with
        | Result.Ok(Say _) -> sayCommand.Inc()
        | Result.Ok command ->
            match Verb.ofCommand command with
            | Some v -> verbChildren[v].Inc()
            | None -> unknownCommand.Inc()
        | Result.Error(BadArgument(v, _)) -> verbChildren[v].Inc()
        | Result.Error(UnknownCommand _) -> unknownCommand.Inc()

    member _.RoomMessageIn() = roomIn.Inc()
    member _.PublicationIn() = publishIn.Inc()

    /// One delivery: the same line queued to `n` sessions.
    member _.Delivered(n: int) =
        if n > 0 then
            delivered.Inc(float n)

    member _.SlowConsumer() = slow.Inc()
    member _.Limited(limit: Limit) = limitChildren[limit].Inc()
    member _.RedisCall(seconds: float) = redisLatency.Observe seconds
    member _.RedisUnavailable(seconds: float) = redisDown.Inc seconds
    member _.BusReceived() = busReceived.Inc()
    member _.BusNeeded() = busNeeded.Inc()
    member _.BusRecovered(n: int) = busRecovered.Inc(float n)
    member _.BusLost(n: int64) = busLost.Inc(float n)

    /// Before each scrape: what the server holds anyway, read once.
    member _.OnScrape
        (
            connections: unit -> int,
            localSessions: unit -> int,
            outboxDepths: unit -> int * int,
            sharedStateUp: unit -> bool
        ) =
        registry.AddBeforeCollectCallback(fun () ->
            connectionsOpen.Set(float (connections ()))
            sessions.Set(float (localSessions ()))
            let sum, max = outboxDepths ()
            outboxLines.Set(float sum)
            outboxMax.Set(float max)
            sharedUp.Set(if sharedStateUp () then 1.0 else 0.0))
