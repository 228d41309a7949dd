namespace Chat.Server.Tests

open System
open System.Threading
open System.Threading.Tasks
open NUnit.Framework
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
                Assert.That(client.Command "/quit", Is.EqualTo "OK QUIT")
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
        let reply (client: TestClient) =
            client.ExpectMatch(
                (fun l -> l.StartsWith "OK " || l.StartsWith "ERR " || l = forcedLogout),
                "a reply to LOGIN"
            )

        [ one, reply one; two, reply two ]

/// `--duplicate-login force-logout` on two instances.
[<TestFixture>]
type ClusterForceLogout() =
    inherit ClusterFixture([ "--duplicate-login"; "force-logout" ], 2, "force")

    [<Test>]
    member this.``a login on another instance logs out the earlier session, and its cleanup spares the new one``() =
        let c = this.Cluster
        let room = c.Name "room"
        let old, name = c.UserIn(1, "x", room)
        let mate, _ = c.UserIn(1, "mate", room)
        let watcher, _ = c.User(2, "watch")
        let fresh = c.Connect(2, "fresh")
        Assert.That(fresh.Command $"LOGIN {name} {Cluster.Password}", Is.EqualTo $"OK LOGIN {name} lobby")
        old.Expect ClusterLogins.forcedLogout |> ignore
        old.WaitClosed()
        Assert.That(old.Received |> List.last, Is.EqualTo ClusterLogins.forcedLogout, "nothing after FORCED_LOGOUT")
        mate.Expect $"SYS LEAVE {room} {name}" |> ignore
        watcher.Expect $"SYS JOIN lobby {name}" |> ignore
        // The old connection has ended on node 1 and released its (fenced) session.
        c.WaitLog(1, $"logout user={name} ", TimeSpan.FromSeconds 10.0)

        for client in [ watcher; mate ] do
            Assert.That(users client |> List.filter ((=) name), Has.Length.EqualTo 1, client.Describe())

        Assert.That(Lines.items "WHO" (watcher.Command "/who") |> List.filter ((=) name), Has.Length.EqualTo 1)
        watcher.AssertNotReceived((fun l -> l = $"SYS LEAVE lobby {name}"), "a LEAVE for the session that stayed")
        // The new session is the one shared state knows: it moves, and talks.
        Assert.That(fresh.Command $"/join {room}", Is.EqualTo $"OK JOIN {room}")
        mate.Expect $"SYS JOIN {room} {name}" |> ignore
        fresh.Send "still here"

        mate.ExpectMatch((fun l -> Lines.isMsgFrom name l && l.EndsWith " still here"), "the new session's MSG")
        |> ignore

    [<Test>]
    member this.``simultaneous logins on two instances leave at most one session``() =
        let c = this.Cluster
        let watcher, _ = c.User(2, "w")

        for name in ClusterLogins.accounts c 30 do
            let outcome = ClusterLogins.race c name

            for client, reply in outcome do
                if reply = ClusterLogins.forcedLogout then
                    TestContext.Out.WriteLine($"{client.Name}: SYS FORCED_LOGOUT came without OK LOGIN before it")
                else
                    Assert.That(reply, Is.EqualTo $"OK LOGIN {name} lobby", client.Describe())

            // The later claim wins; the earlier session is told and closed.
            let alive () =
                outcome |> List.filter (fun (client, _) -> not client.IsClosed) |> List.map fst

            try
                Poll.until (TimeSpan.FromSeconds 10.0) $"at most one connection of {name} left" (fun () ->
                    (alive ()).Length <= 1)
            with :? TimeoutException as e ->
                let session = this.Redis.Command [ "HGETALL"; $"chat:session:{name}" ]
                // Which of them shared state still knows: a fenced /join tells.
                let joins = [
                    for client, _ in outcome ->
                        let reply = client.Command "/join probe"
                        $"{client.Name}: /join probe -> {reply}"
                ]

                Assert.Fail(
                    $"{e.Message}: both connections stay logged in, none got SYS FORCED_LOGOUT.\n"
                    + $"chat:session:{name} = {session.Replace('\n', ' ')}\n"
                    + String.concat "\n" joins
                    + "\n"
                    + String.concat "\n" [ for client, _ in outcome -> client.Describe() ]
                )

            for client, _ in outcome do
                if client.IsClosed then
                    Assert.That(client.Received |> List.last, Is.EqualTo ClusterLogins.forcedLogout, client.Describe())

            match alive () with
            | [ survivor ] ->
                Assert.That(survivor.Command "/join after-race", Is.EqualTo "OK JOIN after-race", survivor.Describe())
                Assert.That(users watcher |> List.filter ((=) name), Has.Length.EqualTo 1)
                Assert.That(survivor.Command "/quit", Is.EqualTo "OK QUIT")
            | _ -> ()

            waitUsers watcher (TimeSpan.FromSeconds 10.0) $"{name} offline" (List.contains name >> not)

/// `--duplicate-login reject` on two instances.
[<TestFixture>]
type ClusterRejectDuplicate() =
    inherit ClusterFixture([ "--duplicate-login"; "reject" ], 2, "reject")

    [<Test>]
    member this.``a second login on another instance is refused and the earlier session is untouched``() =
        let c = this.Cluster
        let room = c.Name "room"
        let old, name = c.UserIn(1, "x", room)
        let mate, _ = c.UserIn(2, "mate", room)
        let second = c.Connect(2, "second")
        Assert.That(second.Command $"LOGIN {name} {Cluster.Password}", Does.StartWith "ERR DUPLICATE_LOGIN ")
        Assert.That(second.Command "/who", Does.StartWith "ERR NOT_LOGGED_IN ")
        old.Send "still mine"

        mate.ExpectMatch((fun l -> Lines.isMsgFrom name l && l.EndsWith " still mine"), "the message")
        |> ignore

        old.AssertNotReceived((fun l -> l.StartsWith "SYS FORCED_LOGOUT"), "a forced logout")
        mate.AssertNotReceived(ClusterLogins.about name, "presence events about the user")
        Assert.That(Lines.items "WHO" (mate.Command "/who"), Does.Contain name)
        Assert.That(old.Command "/leave", Is.EqualTo $"OK LEAVE {room}", "still the session shared state knows")
        Assert.That(old.Command "/quit", Is.EqualTo "OK QUIT")
        waitUsers mate (TimeSpan.FromSeconds 10.0) $"{name} offline" (List.contains name >> not)
        Assert.That(second.Command $"LOGIN {name} {Cluster.Password}", Is.EqualTo $"OK LOGIN {name} lobby")

    [<Test>]
    member this.``simultaneous logins on two instances: exactly one succeeds``() =
        let c = this.Cluster
        let watcher, _ = c.User(1, "w")

        for name in ClusterLogins.accounts c 30 do
            let outcome = ClusterLogins.race c name
            let replies = outcome |> List.map snd |> List.sort
            Assert.That(replies[0], Does.StartWith "ERR DUPLICATE_LOGIN ", String.concat " | " replies)
            Assert.That(replies[1], Is.EqualTo $"OK LOGIN {name} lobby", String.concat " | " replies)
            let winner = outcome |> List.find (fun (_, r) -> r.StartsWith "OK ") |> fst
            let loser = outcome |> List.find (fun (_, r) -> r.StartsWith "ERR ") |> fst
            Assert.That(winner.Command "/join after-race", Is.EqualTo "OK JOIN after-race", winner.Describe())
            Assert.That(loser.Command "/who", Does.StartWith "ERR NOT_LOGGED_IN ")
            Assert.That(users watcher |> List.filter ((=) name), Has.Length.EqualTo 1)
            Assert.That(winner.Command "/quit", Is.EqualTo "OK QUIT")
            loser.Disconnect()
