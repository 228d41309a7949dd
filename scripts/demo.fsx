// Replays chat/1 scenarios against servers this script starts, prints the transcript, and exits 1
// when an answer differs from the expected one. Run: dotnet fsi scripts/demo.fsx [--configuration Release]
// after `dotnet build Chat.sln -c Release`: the servers, redis-server and the TLS clients come from
// the harness the tests use (tests/Chat.Testing, referenced from its Release build).
// With redis-server on PATH it also starts a two-instance cluster and replays the cross-server scenarios.
//
// Transcript legend:  `alice >` a line alice sends;  `alice <` a line she receives as expected.

#r "../tests/Chat.Testing/bin/Release/net10.0/Chat.Testing.dll"

open System
open System.IO
open System.Text.RegularExpressions
open Chat.Testing

let args = fsi.CommandLineArgs |> Array.skip 1

let configuration =
    match Array.tryFindIndex ((=) "--configuration") args with
    | Some i when i + 1 < args.Length -> args[i + 1]
    | _ -> "Release"

let root = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))

let serverDll =
    Path.Combine(root, "src", "Chat.Server", "bin", configuration, "net10.0", "Chat.Server.dll")

let timeout = TimeSpan.FromSeconds 10.0
let work = Directory.CreateTempSubdirectory("chat-demo-").FullName
let certDir = Path.Combine(work, "certs")
let mutable failures = 0

exception Mismatch of string

/// Every server gets the demo accounts; the harness adds a free loopback port, bcrypt cost 4 and
/// the shared certificate directory.
let serverFlags = [ "--demo-users" ]

/// SIGTERM, as an operator stops a server, and the end of the process.
let stop (server: ServerProcess) =
    server.Child.StopWithin(TimeSpan.FromSeconds 15.0)

/// One user's connection, verifying the server by its certificate (as `chat --ca certs/server.crt`).
type User(name: string, port: int) =
    let client =
        try
            LineClient.Connect(port, Path.Combine(certDir, "server.crt"), name = name)
        with :? ExpectationFailedException as e ->
            raise (Mismatch $"{name}: no HELLO chat/1 on connecting: {e.Message.Split('\n')[0]}")

    do printfn "  %-8s < %s" name client.Hello

    member _.Name = name

    member _.Send(line: string) =
        printfn "  %-8s > %s" name line
        client.Send line

    /// The next line must match `pattern`: `*` stands for one word (an id), `...` for the rest.
    /// Presence lines of users from an earlier scenario may still come by (their sessions end
    /// as their connections close); they are shown and passed over.
    member this.Expect(pattern: string) =
        let regex =
            "^"
            + Regex.Escape(pattern).Replace(@"\*", @"\S+").Replace(@"\.\.\.", ".*")
            + "$"

        let next =
            try
                Some(client.Next timeout)
            with :? ExpectationFailedException ->
                None

        match next with
        | Some l when Regex.IsMatch(l, regex) ->
            printfn "  %-8s < %s" name l
            l
        | Some l when l.StartsWith "SYS JOIN " || l.StartsWith "SYS LEAVE " ->
            printfn "  %-8s < %s   (presence of another scenario's user; passed over)" name l
            this.Expect pattern
        | Some l -> raise (Mismatch $"{name}: expected `{pattern}`, got `{l}`")
        | None ->
            let why =
                if client.IsClosed then
                    "the connection closed"
                else
                    $"nothing came within {timeout.TotalSeconds} s"

            raise (Mismatch $"{name}: expected `{pattern}`, but {why}")

    /// The server closes the connection with no further line.
    member _.ExpectClosed() =
        try
            client.WaitClosed timeout
        with :? ExpectationFailedException ->
            raise (Mismatch $"{name}: expected the connection to close")

        match client.Pending with
        | [] -> printfn "  %-8s < (connection closed)" name
        | l :: _ -> raise (Mismatch $"{name}: expected the connection to close, got `{l}`")

    /// Closes the socket abruptly (no `/quit`, no TLS close_notify), as a dropped network does.
    member _.Cut() =
        printfn "  %-8s x (connection cut: socket closed without /quit)" name
        client.Disconnect()

    interface IDisposable with
        member _.Dispose() = (client :> IDisposable).Dispose()

let connect name port = new User(name, port)

/// The word at `index` (0-based) of a line, such as the id in `MSG <room> <id> ...`.
let word (index: int) (line: string) = line.Split(' ')[index]

let scenario (title: string) (body: unit -> unit) =
    printfn "\n## %s" title

    try
        body ()
        printfn "  -- ok"
    with Mismatch m ->
        failures <- failures + 1
        printfn "  !! FAILED: %s" m

/// Issue 12. Alice holds a token, her connection is cut, bob talks meanwhile; she comes back on
/// `back` (the same server, or the other instance) with RESUME and fetches what she missed by id:
/// exactly those messages, once, and nothing else after them.
let resumeAndCatchUp (away: int) (back: int) (room: string) =
    use alice = connect "alice" away
    use bob = connect "bob" back
    alice.Send "LOGIN alice password123"
    alice.Expect "OK LOGIN alice lobby" |> ignore
    alice.Send $"/join {room}"
    alice.Expect $"OK JOIN {room}" |> ignore
    alice.Send "/token"
    let token = alice.Expect "OK TOKEN *" |> word 2
    bob.Send "LOGIN bob secret456"
    bob.Expect "OK LOGIN bob lobby" |> ignore
    bob.Send $"/join {room}"
    bob.Expect $"OK JOIN {room}" |> ignore
    alice.Expect $"SYS JOIN {room} bob" |> ignore
    bob.Send "before the cut"
    bob.Expect $"MSG {room} * bob before the cut" |> ignore
    let lastSeen = alice.Expect $"MSG {room} * bob before the cut" |> word 2
    alice.Cut()
    bob.Expect $"SYS LEAVE {room} alice" |> ignore
    bob.Send "first while you were away"
    let missed1 = bob.Expect $"MSG {room} * bob first while you were away" |> word 2
    bob.Send "second while you were away"
    let missed2 = bob.Expect $"MSG {room} * bob second while you were away" |> word 2
    use again = connect "alice" back
    again.Send $"RESUME alice {token}"
    again.Expect "OK RESUME alice lobby" |> ignore
    again.Send $"/join {room}"
    again.Expect $"OK JOIN {room}" |> ignore
    bob.Expect $"SYS JOIN {room} alice" |> ignore
    again.Send $"/history after {lastSeen}"
    again.Expect $"HIST {room} {missed1} bob * first while you were away" |> ignore
    again.Expect $"HIST {room} {missed2} bob * second while you were away" |> ignore
    again.Expect "OK HISTORY 2" |> ignore
    // The next line is the pong: no copy of a missed message came live as well.
    again.Send "/ping caught-up"
    again.Expect "OK PONG caught-up" |> ignore

/// Issue 12. Direct messages to a user with no session wait for their next login (on `later`),
/// arrive right after the welcome, oldest first, and only once: the login after shows none.
let offlineDirect (sender: int) (later: int) (user: string) =
    use first = connect user later
    first.Send $"REGISTER {user} open-sesame"
    first.Expect $"OK REGISTER {user} lobby" |> ignore
    first.Send "/quit"
    first.Expect "OK QUIT" |> ignore
    first.ExpectClosed()
    use alice = connect "alice" sender
    alice.Send "LOGIN alice password123"
    alice.Expect "OK LOGIN alice lobby" |> ignore
    alice.Send $"/msg {user} are you there?"
    let one = alice.Expect $"OK MSG * {user}" |> word 2
    alice.Send $"/msg {user} call me when you are back"
    let two = alice.Expect $"OK MSG * {user}" |> word 2
    use back = connect user later
    back.Send $"LOGIN {user} open-sesame"
    back.Expect $"OK LOGIN {user} lobby" |> ignore
    back.Expect $"DM {one} alice are you there?" |> ignore
    back.Expect $"DM {two} alice call me when you are back" |> ignore
    back.Send "/quit"
    back.Expect "OK QUIT" |> ignore
    back.ExpectClosed()
    use once = connect user later
    once.Send $"LOGIN {user} open-sesame"
    once.Expect $"OK LOGIN {user} lobby" |> ignore
    once.Send "/ping delivered-once"
    once.Expect "OK PONG delivered-once" |> ignore

let singleInstance (port: int) =
    scenario "Registration, then login from another connection" (fun () ->
        use dana = connect "dana" port
        dana.Send "REGISTER dana correct-horse"
        dana.Expect "OK REGISTER dana lobby" |> ignore
        dana.Send "/quit"
        dana.Expect "OK QUIT" |> ignore
        dana.ExpectClosed()
        use again = connect "dana" port
        again.Send "LOGIN Dana wrong-password"
        again.Expect "ERR AUTH_FAILED ..." |> ignore
        again.Send "LOGIN Dana correct-horse"
        again.Expect "OK LOGIN dana lobby" |> ignore)

    scenario "Rooms: join, talk, leave" (fun () ->
        use alice = connect "alice" port
        use bob = connect "bob" port
        alice.Send "LOGIN alice password123"
        alice.Expect "OK LOGIN alice lobby" |> ignore
        bob.Send "LOGIN bob secret456"
        bob.Expect "OK LOGIN bob lobby" |> ignore
        alice.Expect "SYS JOIN lobby bob" |> ignore
        alice.Send "/join dev"
        alice.Expect "OK JOIN dev" |> ignore
        bob.Expect "SYS LEAVE lobby alice" |> ignore
        bob.Send "/join dev"
        bob.Expect "OK JOIN dev" |> ignore
        alice.Expect "SYS JOIN dev bob" |> ignore
        bob.Send "hello, dev"
        bob.Expect "MSG dev * bob hello, dev" |> ignore
        alice.Expect "MSG dev * bob hello, dev" |> ignore
        alice.Send "/who"
        alice.Expect "OK WHO dev alice bob" |> ignore
        alice.Send "/rooms"
        alice.Expect "OK ROOMS dev:2" |> ignore
        alice.Send "/history 5"
        alice.Expect "HIST dev * bob * hello, dev" |> ignore
        alice.Expect "OK HISTORY 1" |> ignore
        bob.Send "/leave"
        bob.Expect "OK LEAVE dev" |> ignore
        alice.Expect "SYS LEAVE dev bob" |> ignore)

    scenario "Publish-subscribe across rooms" (fun () ->
        use alice = connect "alice" port
        use charlie = connect "charlie" port
        alice.Send "LOGIN alice password123"
        alice.Expect "OK LOGIN alice lobby" |> ignore
        charlie.Send "LOGIN charlie hello789"
        charlie.Expect "OK LOGIN charlie lobby" |> ignore
        alice.Expect "SYS JOIN lobby charlie" |> ignore
        charlie.Send "/join elsewhere"
        charlie.Expect "OK JOIN elsewhere" |> ignore
        alice.Expect "SYS LEAVE lobby charlie" |> ignore
        charlie.Send "/subscribe alice"
        charlie.Expect "OK SUBSCRIBE alice" |> ignore
        alice.Send "/publish news for my followers"
        alice.Expect "OK PUBLISH * 1" |> ignore
        charlie.Expect "PUB * alice news for my followers" |> ignore
        charlie.Send "/subs"
        charlie.Expect "OK SUBS alice" |> ignore
        charlie.Send "/unsubscribe alice"
        charlie.Expect "OK UNSUBSCRIBE alice" |> ignore)

    scenario "Duplicate login (force-logout, the default)" (fun () ->
        use first = connect "bob#1" port
        first.Send "LOGIN bob secret456"
        first.Expect "OK LOGIN bob lobby" |> ignore
        use second = connect "bob#2" port
        second.Send "LOGIN bob secret456"
        second.Expect "OK LOGIN bob lobby" |> ignore
        first.Expect "SYS FORCED_LOGOUT Logged in from another location." |> ignore
        first.ExpectClosed())

    scenario "Mistakes get clear errors" (fun () ->
        use eve = connect "eve" port
        eve.Send "/join dev"
        eve.Expect "ERR NOT_LOGGED_IN ..." |> ignore
        eve.Send "LOGIN alice"
        eve.Expect "ERR BAD_ARGUMENT ..." |> ignore
        eve.Send "LOGIN alice password123"
        eve.Expect "OK LOGIN alice lobby" |> ignore
        eve.Send "/join"
        eve.Expect "ERR BAD_ARGUMENT ..." |> ignore
        eve.Send "/dance"
        eve.Expect "ERR UNKNOWN_COMMAND ..." |> ignore
        eve.Send "/history abc"
        eve.Expect "ERR BAD_ARGUMENT ..." |> ignore)

    scenario "Connection cut, RESUME with a token, the missed messages by id" (fun () ->
        resumeAndCatchUp port port "standup")

    scenario "Direct messages to an offline user, delivered at login" (fun () -> offlineDirect port port "frank")

let onPath (name: string) =
    (Environment.GetEnvironmentVariable "PATH").Split(':')
    |> Array.exists (fun dir -> File.Exists(Path.Combine(dir, name)))

let cluster (one: int) (two: int) =
    scenario "A user on each instance, one room" (fun () ->
        use alice = connect "alice@1" one
        use bob = connect "bob@2" two
        alice.Send "LOGIN alice password123"
        alice.Expect "OK LOGIN alice lobby" |> ignore
        alice.Send "/join ops"
        alice.Expect "OK JOIN ops" |> ignore
        bob.Send "LOGIN bob secret456"
        bob.Expect "OK LOGIN bob lobby" |> ignore
        bob.Send "/join ops"
        bob.Expect "OK JOIN ops" |> ignore
        alice.Expect "SYS JOIN ops bob" |> ignore
        bob.Send "hello from instance 2"
        bob.Expect "MSG ops * bob hello from instance 2" |> ignore
        alice.Expect "MSG ops * bob hello from instance 2" |> ignore
        alice.Send "/who"
        alice.Expect "OK WHO ops alice bob" |> ignore
        alice.Send "/history 1"
        alice.Expect "HIST ops * bob * hello from instance 2" |> ignore
        alice.Expect "OK HISTORY 1" |> ignore)

    scenario "Registered on one instance, logged in on the other" (fun () ->
        use first = connect "erin@1" one
        first.Send "REGISTER erin open-sesame"
        first.Expect "OK REGISTER erin lobby" |> ignore
        first.Send "/quit"
        first.Expect "OK QUIT" |> ignore
        first.ExpectClosed()
        use second = connect "erin@2" two
        second.Send "LOGIN erin open-sesame"
        second.Expect "OK LOGIN erin lobby" |> ignore)

    scenario "Publish-subscribe across instances and rooms" (fun () ->
        use alice = connect "alice@1" one
        use charlie = connect "charlie@2" two
        alice.Send "LOGIN alice password123"
        alice.Expect "OK LOGIN alice lobby" |> ignore
        alice.Send "/join newsroom"
        alice.Expect "OK JOIN newsroom" |> ignore
        charlie.Send "LOGIN charlie hello789"
        charlie.Expect "OK LOGIN charlie lobby" |> ignore
        charlie.Send "/subscribe alice"
        charlie.Expect "OK SUBSCRIBE alice" |> ignore
        alice.Send "/publish from another instance and another room"
        alice.Expect "OK PUBLISH * 1" |> ignore
        charlie.Expect "PUB * alice from another instance and another room" |> ignore
        charlie.Send "/unsubscribe alice"
        charlie.Expect "OK UNSUBSCRIBE alice" |> ignore)

    scenario "Force-logout from another instance" (fun () ->
        use first = connect "bob@1" one
        first.Send "LOGIN bob secret456"
        first.Expect "OK LOGIN bob lobby" |> ignore
        use second = connect "bob@2" two
        second.Send "LOGIN bob secret456"
        second.Expect "OK LOGIN bob lobby" |> ignore
        first.Expect "SYS FORCED_LOGOUT Logged in from another location." |> ignore
        first.ExpectClosed()
        second.Send "/users"
        second.Expect "OK USERS ...bob..." |> ignore)

    scenario "Connection to instance 1 cut, RESUME on instance 2, the missed messages by id" (fun () ->
        resumeAndCatchUp one two "standup")

    scenario "Direct message sent on instance 1 to an offline user, delivered at login on instance 2" (fun () ->
        offlineDirect one two "frank")

try
    try
        if not (File.Exists serverDll) then
            raise (Mismatch $"{serverDll} is missing: build first (dotnet build Chat.sln -c {configuration})")

        printfn "# chat/1 demo: one server, in-memory state"

        using
            (ServerProcess.Start(serverFlags, certDir = certDir, dll = serverDll, timeout = TimeSpan.FromSeconds 60.0))
            (fun server ->
                singleInstance server.Port
                stop server)

        if onPath "redis-server" then
            use redis = new RedisServer()
            printfn "\n# chat/1 demo: two servers sharing a redis-server on port %d" redis.Port

            let nodes =
                ServerProcess.StartCluster(
                    2,
                    serverFlags @ [ "--redis"; redis.Configuration ],
                    idPrefix = "node",
                    certDir = certDir,
                    dll = serverDll
                )

            try
                cluster nodes[0].Port nodes[1].Port
                nodes |> List.iter stop
            finally
                for n in nodes do
                    (n :> IDisposable).Dispose()
        else
            printfn "\n(redis-server not on PATH: the cross-server scenarios are skipped)"
    with
    | Mismatch m ->
        failures <- failures + 1
        printfn "!! %s" m
    | e ->
        // A server or redis-server that did not start: the harness says why, with its output.
        failures <- failures + 1
        printfn "!! %s" e.Message
finally
    Directory.Delete(work, true)

if failures > 0 then
    printfn "\n%d scenario(s) failed" failures
    exit 1

printfn "\nall scenarios passed"
