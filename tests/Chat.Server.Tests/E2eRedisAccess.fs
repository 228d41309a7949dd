namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open Expecto
open Chat.Domain
open Chat.Server
open Chat.Testing

/// Each test's own redis-servers (with a password, ACL users or TLS), servers and clients,
/// disposed after it.
type RedisAccessScope() =
    let redises = List<RedisServer>()
    let servers = List<ServerProcess>()
    let clients = List<LineClient>()
    let dir = Directory.CreateTempSubdirectory("chat-redis-access-").FullName
    let mutable counter = 0

    /// A redis-server with these access options (see RedisServer).
    member _.Redis(?password: string, ?users: (string * string) list, ?tls: bool) =
        let r = new RedisServer(?password = password, ?users = users, ?tls = tls)
        redises.Add r
        r

    /// A file in this test's directory.
    member _.File(name: string) = Path.Combine(dir, name)

    /// A server started with `flags` (waits for `listening on`).
    member _.Server(flags: string list, ?name: string) =
        let s = ServerProcess.Start(flags, ?name = name)
        servers.Add s
        s

    /// A new account on `server`, registered and logged in, moved to `room`.
    member _.UserIn(server: ServerProcess, prefix: string, room: string) =
        counter <- counter + 1
        let name = $"{prefix}{counter}"
        let c = LineClient.To(server, name)
        clients.Add c
        c.Register(name, "pass-word-123")
        Expect.equal (c.Command $"/join {room}") $"OK JOIN {room}" (c.Describe())
        c, name

    interface ITestScope with
        member _.EndTest() = [
            for c in clients do
                for line in c.Received do
                    if (ServerLine.parse line).IsNone then
                        $"[{c.Name}] {line}"
        ]

        member _.Diagnostics() =
            String.concat "\n" [
                for s in servers -> $"server output:\n{s.OutputText 60}"
                for r in redises -> $"redis-server {r.Port} log:\n{r.LogTail 20}"
            ]

    interface IDisposable with
        member _.Dispose() =
            for c in clients do
                (c :> IDisposable).Dispose()

            for s in servers do
                (s :> IDisposable).Dispose()

            for r in redises do
                (r :> IDisposable).Dispose()

            try
                Directory.Delete(dir, true)
            with _ ->
                ()

/// `--redis` with `user=`/`password=` (Redis ACL or `requirepass`) and `ssl=true` with
/// `--redis-ca`, against redis-servers that require them; a refusal is one stderr line and exit 2
/// at once; and the password never printed (issue 13).
module E2eRedisAccess =
    let private password = "Pw-9f3c1e7a-rEdIs"
    let private userPassword = "Acl-4b2d8e61-cHaT"

    /// Redis that requires access, and the server flags that get in.
    let private kinds = [ "requirepass"; "acl-user"; "tls"; "tls+acl-user" ]

    let private redisOf (this: RedisAccessScope) (kind: string) =
        let r =
            match kind with
            | "requirepass" -> this.Redis(password = password)
            | "acl-user" -> this.Redis(users = [ "chat", userPassword ])
            | "tls" -> this.Redis(tls = true)
            | _ -> this.Redis(users = [ "chat", userPassword ], tls = true)

        let flags =
            [ "--redis"; r.Configuration ]
            @ (r.CaFile
               |> Option.map (fun ca -> [ "--redis-ca"; ca ])
               |> Option.defaultValue [])

        r, flags

    /// The server's whole output, both streams.
    let private everything (result: ExitResult) =
        String.concat "\n" (result.StdOut @ result.StdErr)

    /// Runs a server expected to be refused: exit code 2 within 10 s (far from the 30 s a missing
    /// Redis gets), one line on stderr holding every `mentions`, nothing listening, and none of
    /// `secrets` anywhere in its output.
    let private refused (flags: string list) (mentions: string list) (secrets: string list) =
        let clock = Stopwatch.StartNew()
        let result = ServerProcess.Run(flags, timeout = TimeSpan.FromSeconds 30.0)
        let took = clock.Elapsed
        let text = everything result
        Expect.equal result.Code 2 text
        Expect.isLessThan took (TimeSpan.FromSeconds 10.0) $"refused promptly, not after the reachability wait\n{text}"
        let lines = result.StdErr |> List.filter (String.IsNullOrWhiteSpace >> not)
        Expect.hasLength lines 1 text

        for m in mentions do
            Expect.stringContains lines.Head m text

        Expect.isFalse (result.StdOut |> List.exists (fun l -> l.Contains "listening on")) text

        for s in secrets do
            Expect.isFalse (text.Contains s) $"the output holds a password ({s}):\n{text}"

    let private auth = [ "authentication to Redis"; "user= and password="; "--redis" ]

    [<Tests>]
    let tests =
        Harness.perTest "E2eRedisAccess" false (fun () -> new RedisAccessScope()) [
            yield!
                cases "with the right access, two servers share logins and messages through the Redis" kinds
                <| fun (this: RedisAccessScope) (kind: string) ->
                    let r, flags = redisOf this kind
                    let one = this.Server([ "--server-id"; "one" ] @ flags, name = "one")
                    let two = this.Server([ "--server-id"; "two" ] @ flags, name = "two")
                    let a, an = this.UserIn(one, "a", "secured")
                    let b, bn = this.UserIn(two, "b", "secured")
                    a.Send "over an authenticated link"

                    for x in [ a; b ] do
                        let _, _, from, text = x.ExpectPrefix "MSG secured " |> Lines.msg
                        Expect.equal (from, text) (an, "over an authenticated link") (x.Describe())

                    // The accounts are in this Redis (read with the harness's own access).
                    Expect.equal
                        (r.Command [ "EXISTS"; RedisKeys.account (Username.tryCreate an).Value ])
                        "1"
                        "a's account"

                    Expect.equal
                        (r.Command [ "EXISTS"; RedisKeys.account (Username.tryCreate bn).Value ])
                        "1"
                        "b's account"

            yield!
                cases "wrong or missing credentials: one line on stderr, exit 2 at once, no password shown" [
                    "requirepass", "password=Wrong-7c1d0a"
                    "requirepass", "" // none given
                    "requirepass", "user=default,password=Wrong-7c1d0b"
                    "acl-user", "user=chat,password=Wrong-7c1d0c"
                    "acl-user", "user=nobody,password=Wrong-7c1d0d"
                    // The default user is off: chat's own password without user= gets nowhere.
                    "acl-user", "password=" + userPassword
                    "tls+acl-user", "user=chat,password=Wrong-7c1d0e"
                ]
                <| fun (this: RedisAccessScope) (kind: string, access: string) ->
                    let r, _ = redisOf this kind

                    let tls =
                        r.CaFile
                        |> Option.map (fun ca -> [ "--redis-ca"; ca ])
                        |> Option.defaultValue []

                    let configuration = r.Address + (if access = "" then "" else "," + access)
                    let given = Redaction.secrets configuration

                    refused ([ "--redis"; configuration ] @ tls) auth (given @ [ password; userPassword ])

            yield!
                cases "TLS to a Redis whose certificate is not trusted: one line on stderr, exit 2 at once" [
                    "no --redis-ca"
                    "another CA"
                    "a name the certificate does not hold"
                ]
                <| fun (this: RedisAccessScope) (how: string) ->
                    let r = this.Redis(password = password, tls = true)

                    let flags =
                        match how with
                        | "no --redis-ca" -> [ "--redis"; r.Configuration ]
                        | "another CA" ->
                            use other = TestCertificates.ca "some other CA"
                            let file = TestCertificates.writeCertificate (this.File "other-ca.crt") other
                            [ "--redis"; r.Configuration; "--redis-ca"; file ]
                        | _ -> [
                            "--redis"
                            r.Configuration + ",sslHost=wrong.example"
                            "--redis-ca"
                            r.CaFile.Value
                          ]

                    refused flags [ "TLS handshake with Redis"; "--redis-ca" ] [ password ]

            case "a --redis-ca that cannot be read: one line on stderr naming it, exit 2"
            <| fun (this: RedisAccessScope) ->
                let r = this.Redis(tls = true)
                let missing = this.File "missing-ca.crt"
                refused [ "--redis"; r.Configuration; "--redis-ca"; missing ] [ "--redis-ca"; missing ] []
                let junk = this.File "junk-ca.crt"
                File.WriteAllText(junk, "not a certificate")
                refused [ "--redis"; r.Configuration; "--redis-ca"; junk ] [ "--redis-ca"; junk ] []

            case "CHAT_REDIS and CHAT_REDIS_CA (as docker-compose gives them) get in; a wrong CHAT_REDIS is refused"
            <| fun (this: RedisAccessScope) ->
                let r = this.Redis(users = [ "chat", userPassword ], tls = true)
                let env = [ "CHAT_REDIS", r.Configuration; "CHAT_REDIS_CA", r.CaFile.Value ]
                let server = ServerProcess.Start(env = env)

                try
                    use c = LineClient.To(server, "env")
                    c.Register("fromenv", "pass-word-123")
                    Expect.equal (r.Command [ "EXISTS"; "chat:{u:fromenv}:account" ]) "1" "the account is in this Redis"
                finally
                    server.Stop()
                    server.WaitForExit(TimeSpan.FromSeconds 30.0) |> ignore
                    (server :> IDisposable).Dispose()

                Expect.isFalse (server.OutputText().Contains userPassword) (server.OutputText())
                let wrong = r.Address + ",user=chat,password=Wrong-7c1d0f"
                let clock = Stopwatch.StartNew()

                let result =
                    ServerProcess.Run([], env = [ "CHAT_REDIS", wrong; "CHAT_REDIS_CA", r.CaFile.Value ])

                let text = everything result
                Expect.equal result.Code 2 text
                Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 10.0) text
                Expect.stringContains (String.concat "\n" result.StdErr) "authentication to Redis" text
                Expect.isFalse (text.Contains "Wrong-7c1d0f") text

            case "--redis-ca without --redis is a bad flag"
            <| fun (this: RedisAccessScope) ->
                refused [ "--redis-ca"; this.File "ca.crt" ] [ "--redis-ca needs --redis" ] []

            case "a whole run (debug logs, a Redis outage, shutdown) never prints the password"
            <| fun (this: RedisAccessScope) ->
                let r = this.Redis(password = password)
                let server = this.Server([ "--redis"; r.Configuration; "--log-level"; "debug" ])
                let a, an = this.UserIn(server, "a", "quiet")
                a.Send "before the outage"
                a.ExpectPrefix "MSG quiet " |> ignore
                // Redis goes away and comes back (empty): the client library reports it, the
                // server logs it, and a new account works again.
                r.Restart()

                Poll.until (TimeSpan.FromSeconds 20.0) "REGISTER to work again after the restart" (fun () ->
                    let c = LineClient.To(server, "after")

                    try
                        (c.Command "REGISTER after1 pass-word-123").StartsWith "OK REGISTER"
                    finally
                        (c :> IDisposable).Dispose())

                server.Stop()
                Expect.equal (server.WaitForExit(TimeSpan.FromSeconds 30.0)) (Some 0) (server.OutputText())
                let output = String.concat "\n" server.Output
                Expect.isFalse (output.Contains password) $"the output holds the password:\n{output}"
                // What it prints of the configuration instead.
                Expect.stringContains output $"{r.Address},password=***" "the configuration, redacted"
                Expect.stringContains output "redis connection lost" "the outage was logged"
                ignore an
        ]
