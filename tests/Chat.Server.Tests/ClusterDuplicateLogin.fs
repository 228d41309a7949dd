namespace Chat.Server.Tests

open System
open System.Threading
open System.Threading.Tasks
open Expecto
open Chat.Testing
open ClusterTesting

module ClusterLogins =
    let forcedLogout = "SYS FORCED_LOGOUT Logged in from another location."

    let about (user: string) (l: string) =
        l.StartsWith "SYS " && l.EndsWith $" {user}"

    /// `rounds` fresh accounts, registered on node 1 and logged out again.
    let accounts (c: Cluster) (rounds: int) =
        let names = [
            for _ in 1..rounds ->
                let client, name = c.User(1, "race")
                Expect.equal (client.Command "/quit") "OK QUIT" "client.Command '/quit'"
                name
        ]

        let watcher, _ = c.User(2, "watch")

        waitUsers
            watcher
            (TimeSpan.FromSeconds 10.0)
            "the accounts logged out"
            (List.exists (fun n -> List.contains n names) >> not)

        names

    /// One connection on node 1 and one on node 2, `LOGIN name` sent on both at the same moment;
    /// the two clients and their replies.
    let race (c: Cluster) (name: string) =
        let one = c.Connect(1, name + "-one")
        let two = c.Connect(2, name + "-two")
        use go = new Barrier(2)

        [ one; two ]
        |> List.map (fun client ->
            Task.Run(fun () ->
                go.SignalAndWait() |> ignore
                client.Send $"LOGIN {name} {Cluster.Password}"))
        |> Array.ofList
        |> Task.WaitAll

        // Its reply; a session evicted at once may get its FORCED_LOGOUT instead.
        let reply (client: LineClient) =
            client.ExpectMatch(
                (fun l -> l.StartsWith "OK " || l.StartsWith "ERR " || l = forcedLogout),
                "a reply to LOGIN"
            )

        [ one, reply one; two, reply two ]

/// `--duplicate-login force-logout` on two instances.
module ClusterForceLogout =
    [<Tests>]
    let tests =
        ClusterSuite.onEachTopology "ClusterForceLogout" ([ "--duplicate-login"; "force-logout" ], 2, "force") [
            case "a login on another instance logs out the earlier session, and its cleanup spares the new one"
            <| fun (this: ClusterFixture) ->

                let c = this.Cluster
                let room = c.Name "room"
                let old, name = c.UserIn(1, "x", room)
                let mate, _ = c.UserIn(1, "mate", room)
                let watcher, _ = c.User(2, "watch")
                let fresh = c.Connect(2, "fresh")

                Expect.equal
                    (fresh.Command $"LOGIN {name} {Cluster.Password}")
                    $"OK LOGIN {name} lobby"
                    "fresh.Command $'LOGIN {name} {Cluster.Password}'"

                old.Expect ClusterLogins.forcedLogout |> ignore
                old.WaitClosed()
                Expect.equal (old.Received |> List.last) ClusterLogins.forcedLogout "nothing after FORCED_LOGOUT"
                mate.Expect $"SYS LEAVE {room} {name}" |> ignore
                watcher.Expect $"SYS JOIN lobby {name}" |> ignore
                // The old connection has ended on node 1 and released its (fenced) session.
                c.WaitLog(1, $"logout user={name} ", TimeSpan.FromSeconds 10.0)

                for client in [ watcher; mate ] do
                    Expect.hasLength (users client |> List.filter ((=) name)) 1 (client.Describe())

                Expect.hasLength
                    (Lines.items "WHO" (watcher.Command "/who") |> List.filter ((=) name))
                    1
                    "Lines.items 'WHO' (watcher.Command '/who') |> List.filter ((=) name)"

                watcher.AssertNotReceived(
                    (fun l -> l = $"SYS LEAVE lobby {name}"),
                    "a LEAVE for the session that stayed"
                )
                // The new session is the one shared state knows: it moves, and talks.
                Expect.equal (fresh.Command $"/join {room}") $"OK JOIN {room}" "fresh.Command $'/join {room}'"
                mate.Expect $"SYS JOIN {room} {name}" |> ignore
                fresh.Send "still here"

                mate.ExpectMatch((fun l -> Lines.isMsgFrom name l && l.EndsWith " still here"), "the new session's MSG")
                |> ignore

            case "simultaneous logins on two instances leave at most one session"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let watcher, _ = c.User(2, "w")

                for name in ClusterLogins.accounts c 30 do
                    let outcome = ClusterLogins.race c name

                    for client, reply in outcome do
                        if reply = ClusterLogins.forcedLogout then
                            printfn $"{client.Name}: SYS FORCED_LOGOUT came without OK LOGIN before it"
                        else
                            Expect.equal reply $"OK LOGIN {name} lobby" (client.Describe())

                    // The later claim wins; the earlier session is told and closed.
                    let alive () =
                        outcome |> List.filter (fun (client, _) -> not client.IsClosed) |> List.map fst

                    try
                        Poll.until (TimeSpan.FromSeconds 10.0) $"at most one connection of {name} left" (fun () ->
                            (alive ()).Length <= 1)
                    with :? TimeoutException as e ->
                        let session = this.Redis.Command [ "HGETALL"; $"chat:{{u:{name}}}:session" ]
                        // Which of them shared state still knows: a fenced /join tells.
                        let joins = [
                            for client, _ in outcome ->
                                let reply = client.Command "/join probe"
                                $"{client.Name}: /join probe -> {reply}"
                        ]

                        failtest (
                            $"{e.Message}: both connections stay logged in, none got SYS FORCED_LOGOUT.\n"
                            + $"chat:{{u:{name}}}:session = {session.Replace('\n', ' ')}\n"
                            + String.concat "\n" joins
                            + "\n"
                            + String.concat "\n" [ for client, _ in outcome -> client.Describe() ]
                        )

                    for client, _ in outcome do
                        if client.IsClosed then
                            Expect.equal (client.Received |> List.last) ClusterLogins.forcedLogout (client.Describe())

                    match alive () with
                    | [ survivor ] ->
                        Expect.equal (survivor.Command "/join after-race") "OK JOIN after-race" (survivor.Describe())

                        Expect.hasLength
                            (users watcher |> List.filter ((=) name))
                            1
                            "users watcher |> List.filter ((=) name)"

                        Expect.equal (survivor.Command "/quit") "OK QUIT" "survivor.Command '/quit'"
                    | _ -> ()

                    waitUsers watcher (TimeSpan.FromSeconds 10.0) $"{name} offline" (List.contains name >> not)
        ]

/// `--duplicate-login reject` on two instances.
module ClusterRejectDuplicate =
    [<Tests>]
    let tests =
        ClusterSuite.onEachTopology "ClusterRejectDuplicate" ([ "--duplicate-login"; "reject" ], 2, "reject") [
            case "a second login on another instance is refused and the earlier session is untouched"
            <| fun (this: ClusterFixture) ->

                let c = this.Cluster
                let room = c.Name "room"
                let old, name = c.UserIn(1, "x", room)
                let mate, _ = c.UserIn(2, "mate", room)
                let second = c.Connect(2, "second")

                Expect.stringStarts
                    (second.Command $"LOGIN {name} {Cluster.Password}")
                    "ERR DUPLICATE_LOGIN "
                    "second.Command $'LOGIN {name} {Cluster.Password}'"

                Expect.stringStarts (second.Command "/who") "ERR NOT_LOGGED_IN " "second.Command '/who'"
                old.Send "still mine"

                mate.ExpectMatch((fun l -> Lines.isMsgFrom name l && l.EndsWith " still mine"), "the message")
                |> ignore

                old.AssertNotReceived((fun l -> l.StartsWith "SYS FORCED_LOGOUT"), "a forced logout")
                mate.AssertNotReceived(ClusterLogins.about name, "presence events about the user")
                Expect.contains (Lines.items "WHO" (mate.Command "/who")) name "Lines.items 'WHO' (mate.Command '/who')"
                Expect.equal (old.Command "/leave") $"OK LEAVE {room}" "still the session shared state knows"
                Expect.equal (old.Command "/quit") "OK QUIT" "old.Command '/quit'"
                waitUsers mate (TimeSpan.FromSeconds 10.0) $"{name} offline" (List.contains name >> not)

                Expect.equal
                    (second.Command $"LOGIN {name} {Cluster.Password}")
                    $"OK LOGIN {name} lobby"
                    "second.Command $'LOGIN {name} {Cluster.Password}'"

            case "simultaneous logins on two instances: exactly one succeeds"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let watcher, _ = c.User(1, "w")

                for name in ClusterLogins.accounts c 30 do
                    let outcome = ClusterLogins.race c name
                    let replies = outcome |> List.map snd |> List.sort
                    Expect.stringStarts (replies[0]) "ERR DUPLICATE_LOGIN " (String.concat " | " replies)
                    Expect.equal (replies[1]) $"OK LOGIN {name} lobby" (String.concat " | " replies)
                    let winner = outcome |> List.find (fun (_, r) -> r.StartsWith "OK ") |> fst
                    let loser = outcome |> List.find (fun (_, r) -> r.StartsWith "ERR ") |> fst
                    Expect.equal (winner.Command "/join after-race") "OK JOIN after-race" (winner.Describe())
                    Expect.stringStarts (loser.Command "/who") "ERR NOT_LOGGED_IN " "loser.Command '/who'"

                    Expect.hasLength
                        (users watcher |> List.filter ((=) name))
                        1
                        "users watcher |> List.filter ((=) name)"

                    Expect.equal (winner.Command "/quit") "OK QUIT" "winner.Command '/quit'"
                    loser.Disconnect()
        ]
