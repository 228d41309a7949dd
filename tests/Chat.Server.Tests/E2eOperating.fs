namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.Text.Json
open Expecto
open Chat.Testing
open Chat.Domain

/// Servers with `--metrics` (a free port each), the Redis they use and their clients, for one
/// test; all of it ends with the test.
type OperatingFixture() =
    let servers = List<ServerProcess>()
    let clients = List<LineClient>()
    let redises = List<RedisServer>()

    /// A server serving `/metrics` and `/healthz` on 127.0.0.1, and that port.
    member _.Server(flags: string list) : ServerProcess * int =
        let port = Ports.free ()
        let server = ServerProcess.Start([ "--metrics"; $"127.0.0.1:{port}" ] @ flags)
        servers.Add server
        server, port

    member _.Redis() =
        let r = new RedisServer()
        redises.Add r
        r

    member _.Connect(server: ServerProcess, name: string) =
        let c = LineClient.Connect(server.Port, server.CertFile, name)
        clients.Add c
        c

    interface ITestScope with
        member _.EndTest() =
            let malformed = [
                for c in clients do
                    for line in c.Received do
                        if (ServerLine.parse line).IsNone then
                            $"[{c.Name}] {line}"
            ]

            for c in clients do
                (c :> IDisposable).Dispose()

            clients.Clear()
            malformed

        member _.Diagnostics() =
            servers
            |> Seq.map (fun s -> $"server output:\n{s.OutputText 80}")
            |> String.concat "\n"

    interface IDisposable with
        member _.Dispose() =
            for c in clients do
                (c :> IDisposable).Dispose()

            for s in servers do
                (s :> IDisposable).Dispose()

            for r in redises do
                (r :> IDisposable).Dispose()

/// What an operator sees (README "Operating"): `/metrics` counts exactly what a session did,
/// `/healthz` follows Redis, `--log-format json` writes one JSON object a line.
module E2eOperating =
    let private wait = TimeSpan.FromSeconds 10.0

    /// Waits until the scrape shows `name{labels}` at `expected`, then returns that scrape.
    let private scrapeWhen port (name: string) labels (expected: float) =
        Poll.untilSome wait $"{name} {labels} = {expected}" (fun () ->
            let samples = Scrape.metrics port

            if PrometheusText.value samples name labels = expected then
                Some samples
            else
                None)

    [<Tests>]
    let tests =
        Harness.perTest "E2eOperating" false (fun () -> new OperatingFixture()) [
            case "/metrics counts what a scripted session did, exactly"
            <| fun (this: OperatingFixture) ->
                let server, port =
                    this.Server [ "--demo-users"; "--login-failures"; "1"; "--msg-rate"; "0" ]

                let a = this.Connect(server, "alice")
                a.Login("alice", "password123")
                let b = this.Connect(server, "bob")
                Expect.stringStarts (b.Command "LOGIN charlie wrong-password") "ERR AUTH_FAILED" "a wrong password"
                Expect.stringStarts (b.Command "LOGIN charlie hello789") "ERR RATE_LIMITED" "past --login-failures 1"
                b.Login("bob", "secret456")
                a.Expect "SYS JOIN lobby bob" |> ignore

                for text in [ "one"; "two"; "three" ] do
                    a.Send text

                for c in [ a; b ] do
                    for text in [ "one"; "two"; "three" ] do
                        c.ExpectMatch((fun l -> l.StartsWith "MSG lobby " && l.EndsWith $" alice {text}"), text)
                        |> ignore

                Expect.stringStarts (a.Command "/publish news") "OK PUBLISH " "nobody follows alice"
                Expect.stringStarts (a.Command "/who") "OK WHO lobby" "/who"
                Expect.stringStarts (a.Command "/rooms") "OK ROOMS" "/rooms"
                Expect.equal (b.Command "/ping x") "OK PONG x" "/ping"
                Expect.stringStarts (b.Command "/nonsense") "ERR UNKNOWN_COMMAND" "an unknown command"

                // A plaintext client: refused before TLS.
                use raw = Raw.connect server.Port
                raw.GetStream().Write("hello\n"B, 0, 6)
                let _, closed, _ = Raw.readToEnd raw
                Expect.isTrue closed "the plaintext connection is closed"

                let m = scrapeWhen port "chat_connections_open" [] 2.0
                let v name labels = PrometheusText.value m name labels

                let expected = [
                    "chat_connections_accepted_total", [], 3.0
                    "chat_sessions", [], 2.0
                    "chat_handshakes_failed_total", [ "reason", "plaintext" ], 1.0
                    "chat_handshakes_failed_total", [ "reason", "tls" ], 0.0
                    "chat_logins_total", [ "command", "login"; "outcome", "ok" ], 2.0
                    "chat_logins_total", [ "command", "login"; "outcome", "auth_failed" ], 1.0
                    "chat_logins_total", [ "command", "login"; "outcome", "rate_limited" ], 1.0
                    "chat_logins_total", [ "command", "register"; "outcome", "ok" ], 0.0
                    "chat_rate_limited_total", [ "limit", "login" ], 1.0
                    "chat_rate_limited_total", [ "limit", "message" ], 0.0
                    "chat_commands_total", [ "verb", "login" ], 4.0
                    "chat_commands_total", [ "verb", "say" ], 3.0
                    "chat_commands_total", [ "verb", "publish" ], 1.0
                    "chat_commands_total", [ "verb", "who" ], 1.0
                    "chat_commands_total", [ "verb", "rooms" ], 1.0
                    "chat_commands_total", [ "verb", "ping" ], 1.0
                    "chat_commands_total", [ "verb", "unknown" ], 1.0
                    "chat_commands_total", [ "verb", "join" ], 0.0
                    "chat_messages_in_total", [ "kind", "room" ], 3.0
                    "chat_messages_in_total", [ "kind", "publish" ], 1.0
                    // SYS JOIN lobby bob to alice, then each of the three messages to both.
                    "chat_lines_delivered_total", [], 7.0
                    "chat_slow_consumers_total", [], 0.0
                    "chat_shared_state_up", [], 1.0
                    "chat_outbox_lines", [], 0.0
                ]

                let actual = [ for name, labels, _ in expected -> name, labels, v name labels ]
                Expect.sequenceEqual actual expected "the counters after the session"

                for name in
                    [
                        "process_cpu_seconds_total"
                        "process_working_set_bytes"
                        "process_num_threads"
                    ] do
                    Expect.isGreaterThan (v name []) 0.0 $"{name}, the process's own"

                // The commands were counted once each, all of them: nothing else moved them.
                let commands =
                    m |> List.filter (fun s -> s.Name = "chat_commands_total") |> List.sumBy _.Value

                Expect.equal commands 12.0 "every command line, once"

                for c in [ a; b ] do
                    Expect.equal (c.Command "/quit") "OK QUIT" "/quit"

                let after = scrapeWhen port "chat_connections_open" [] 0.0
                Expect.equal (PrometheusText.value after "chat_sessions" []) 0.0 "no sessions after /quit"

            case "/healthz is 503 while Redis is down and 200 again when it is back; the outage is counted"
            <| fun (this: OperatingFixture) ->
                let redis = this.Redis()
                let server, port = this.Server [ "--redis"; redis.Configuration ]
                Expect.equal (Scrape.get port "/healthz") (200, "ok\n") "healthy with Redis up"

                let a = this.Connect(server, "a")
                a.Register("metrics-a", "pass-word-123")
                a.Send "through the bus"
                a.ExpectPrefix "MSG lobby " |> ignore

                let up = Scrape.metrics port

                Expect.isGreaterThan
                    (PrometheusText.value up "chat_redis_command_duration_seconds_count" [])
                    0.0
                    "Redis calls were timed"

                Expect.isGreaterThanOrEqual
                    (PrometheusText.value up "chat_bus_events_received_total" [])
                    2.0
                    "the login's entry and the message came through the lobby's channel"

                // An entry only the room's stream has (written, never published), its id kept as the
                // stream's top as every entry's is: the next message's place in the stream shows the
                // gap, and the entry is read back, and counted so.
                let tail =
                    (redis.Command [ "XREVRANGE"; "chat:{r:lobby}:log"; "+"; "-"; "COUNT"; "1" ]).Split('\n')[0]

                let ghostId =
                    redis.Command [
                        "XADD"
                        "chat:{r:lobby}:log"
                        "*"
                        "p"
                        tail
                        "e"
                        "S\tghost\tfrom the log"
                        "ms"
                        "1"
                    ]

                redis.Command [ "SET"; "chat:{r:lobby}:log:top"; ghostId ] |> ignore

                a.Send "after the ghost"
                let ghost = a.ExpectPrefix "MSG lobby "
                Expect.stringEnds ghost " ghost from the log" "the entry read back comes first"
                Expect.stringEnds (a.ExpectPrefix "MSG lobby ") " after the ghost" "then the message"

                // Read back: the ghost, and the message that showed the gap (its live copy is dropped).
                let recovered = scrapeWhen port "chat_bus_events_recovered_total" [] 2.0

                Expect.equal
                    (PrometheusText.value recovered "chat_bus_events_received_total" [])
                    (PrometheusText.value up "chat_bus_events_received_total" [] + 1.0)
                    "one more arrived through Pub/Sub: the message after it"

                redis.Kill()

                let status, body =
                    Poll.untilSome wait "/healthz to answer 503" (fun () ->
                        match Scrape.get port "/healthz" with
                        | 503, body -> Some(503, body)
                        | _ -> None)

                Expect.stringContains body "redis" $"the reason ({status})"
                Expect.stringStarts (a.Command "/rooms") "ERR UNAVAILABLE" "a command during the outage"

                let down =
                    Poll.untilSome wait "an outage of a second to be counted" (fun () ->
                        let m = Scrape.metrics port

                        if PrometheusText.value m "chat_redis_unavailable_seconds_total" [] >= 1.0 then
                            Some m
                        else
                            None)

                Expect.equal (PrometheusText.value down "chat_shared_state_up" []) 0.0 "shared state down"

                redis.Restart()

                Poll.until (TimeSpan.FromSeconds 30.0) "/healthz to answer 200 again" (fun () ->
                    Scrape.get port "/healthz" = (200, "ok\n"))

                Expect.equal (PrometheusText.value (Scrape.metrics port) "chat_shared_state_up" []) 1.0 "back up"

            case "/healthz is 503 while the server shuts down; other paths are 404"
            <| fun (this: OperatingFixture) ->
                let server, port = this.Server []
                Expect.equal (Scrape.get port "/healthz") (200, "ok\n") "healthy in memory"
                Expect.equal (fst (Scrape.get port "/nothing")) 404 "an unknown path"
                // A client that stays keeps the shutdown going long enough to be seen.
                let c = this.Connect(server, "stays")
                c.PauseReading()
                server.Stop()

                // The endpoint stays until the sessions ended (the paused client's takes seconds).
                let body =
                    Poll.untilSome wait "/healthz to answer 503 during shutdown" (fun () ->
                        match Scrape.get port "/healthz" with
                        | 503, body -> Some body
                        | _ -> None)

                Expect.equal body "shutting down\n" "the reason"

                c.ResumeReading()
                Expect.equal (server.WaitForExit wait) (Some 0) "exit 0"

            case "a --metrics address that is taken is one line on stderr and exit code 2"
            <| fun (_: OperatingFixture) ->
                use taken = new Net.Sockets.TcpListener(Net.IPAddress.Loopback, 0)
                taken.Start()
                let port = (taken.LocalEndpoint :?> Net.IPEndPoint).Port
                let result = ServerProcess.Run [ "--metrics"; $"127.0.0.1:{port}" ]
                let text = String.concat "\n" (result.StdOut @ result.StdErr)
                Expect.equal result.Code 2 text
                Expect.hasLength (result.StdErr |> List.filter (String.IsNullOrWhiteSpace >> not)) 1 text
                Expect.stringContains result.StdErr.Head "--metrics" text

            case "--log-format json: every stdout line is one JSON object with time, level, message and the fields"
            <| fun (this: OperatingFixture) ->
                let server, _ = this.Server [ "--log-format"; "json"; "--demo-users" ]
                let a = this.Connect(server, "alice")
                Expect.stringStarts (a.Command "LOGIN alice \"quoted\" wrong") "ERR AUTH_FAILED" "a failed login"
                a.Login("alice", "password123")
                Expect.equal (a.Command "/quit") "OK QUIT" "/quit"
                a.WaitClosed()
                server.Stop()
                Expect.equal (server.WaitForExit wait) (Some 0) "exit 0"

                let objects = [
                    for line in server.StdOut do
                        let doc =
                            try
                                JsonDocument.Parse(line: string)
                            with e ->
                                failtest $"not JSON: {line} ({e.Message})"

                        Expect.equal doc.RootElement.ValueKind JsonValueKind.Object $"an object: {line}"
                        doc.RootElement
                ]

                let str (e: JsonElement) (name: string) =
                    match e.TryGetProperty name with
                    | true, p when p.ValueKind = JsonValueKind.String -> p.GetString()
                    | _ -> failtest $"no string {name} in {e}"

                for o in objects do
                    let time = str o "time"

                    Expect.isTrue
                        (DateTimeOffset.TryParse(time, Globalization.CultureInfo.InvariantCulture) |> fst)
                        $"a time: {time}"

                    Expect.contains [ "DEBUG"; "INFO"; "WARN"; "ERROR" ] (str o "level") "a level"
                    str o "message" |> ignore

                let withMessage m =
                    objects |> List.filter (fun o -> str o "message" = m)

                Expect.hasLength (withMessage "login failed") 1 "the failed login"
                Expect.equal (str (withMessage "login failed").Head "user") "alice" "its user field"
                Expect.equal (str (withMessage "login").Head "user") "alice" "the login's user field"

                let shutdown = (withMessage "shutting down").Head
                Expect.equal (shutdown.GetProperty("connections").ValueKind) JsonValueKind.Number "a number stays one"

                Expect.isTrue
                    (objects |> List.exists (fun o -> (str o "message").StartsWith "listening on "))
                    "the listening line"
        ]

/// `--metrics` and `--log-format`, and their variables.
module OperatingArgsTests =
    open Argu
    open Chat.Server

    let private parse (argv: string list) (variables: (string * string) list) =
        Args.parse (Array.ofList argv) (ConfigurationReader.FromDictionary(dict variables))

    let private invalid argv variables =
        match parse argv variables with
        | Args.Invalid message -> message
        | other -> failtestf "expected a refusal, got %A" other

    let private config argv variables =
        match parse argv variables with
        | Args.Run c -> c
        | other -> failtestf "expected a configuration, got %A" other

    [<Tests>]
    let tests =
        testList "OperatingArgsTests" [
            testCase "--metrics takes address:port, also from CHAT_METRICS; none by default"
            <| fun () ->
                Expect.equal (config [] []).Metrics None "no endpoint by default"

                Expect.equal
                    (config [ "--metrics"; "127.0.0.1:9100" ] []).Metrics
                    (Some(Net.IPEndPoint(Net.IPAddress.Loopback, 9100)))
                    "the flag"

                Expect.equal
                    (config [] [ "CHAT_METRICS", "0.0.0.0:9200" ]).Metrics
                    (Some(Net.IPEndPoint(Net.IPAddress.Any, 9200)))
                    "the variable"
            testCase "--metrics without a port, or not an address, is refused naming the flag"
            <| fun () ->
                for bad in [ "9100"; "127.0.0.1"; "localhost:9100"; "127.0.0.1:0"; "127.0.0.1:70000" ] do
                    Expect.stringContains (invalid [ "--metrics"; bad ] []) "--metrics" bad
            testCase "--log-format is text by default, json on request, also from CHAT_LOG_FORMAT"
            <| fun () ->
                Expect.equal (config [] []).LogFormat Text "text by default"
                Expect.equal (config [ "--log-format"; "json" ] []).LogFormat Json "the flag"
                Expect.equal (config [] [ "CHAT_LOG_FORMAT", "JSON" ]).LogFormat Json "the variable"
                Expect.stringContains (invalid [ "--log-format"; "xml" ] []) "--log-format" "another format"
        ]
