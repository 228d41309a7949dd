namespace Chat.Server.Tests

open System
open Expecto
open Chat.Testing
open ClusterTesting

/// RESUME, direct messages and history paging across instances, on each kind of Redis.
module ClusterResumeDirect =
    let private wait = TimeSpan.FromSeconds 10.0

    /// Drops `c` and waits until `watcher` no longer lists the user online.
    let private gone (watcher: LineClient) (c: LineClient) (name: string) =
        c.Disconnect()
        waitUsers watcher wait $"{name} offline" (List.contains name >> not)

    let private dms (c: LineClient) (n: int) = Direct.received c n

    /// Skipped: the Redis inbox loses DMs sent within 5 s of the recipient's last logout (see the reason).
    let private offline =
        case "a DM to an offline user is delivered at its login on instance 2, once"
        <| fun (this: ClusterFixture) ->
            let c = this.Cluster
            let a, an = c.User(1, "from")
            let b, bn = c.User(2, "away")
            gone a b bn
            let texts = [ for i in 1..5 -> $"kept {i}" ]
            let ids = Direct.sendAll a bn texts
            let back = c.Login(2, bn)
            Expect.equal (dms back 5) (List.map2 (fun id t -> id, an, t) ids texts) "the kept DMs"
            gone a back bn
            let again = c.Login(1, bn)
            again.AssertNotReceived(Direct.isDm, "a DM delivered before")
            let id = Direct.send a bn "live on instance 1"
            Expect.equal (again.ExpectPrefix "DM " |> Direct.dm) (id, an, "live on instance 1") "a live DM"

    [<Tests>]
    let tests =
        ClusterSuite.onEachTopology "ClusterResumeDirect" ([], 2, "resume") [
            case "a token issued on one instance resumes on the other; /quit there revokes it everywhere"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let a, an = c.User(1, "res")
                let w, _ = c.User(2, "watch")
                let t = Resume.token a
                gone w a an
                let b = c.Connect(2, "resumed")
                Expect.equal (Resume.resume b an t) $"OK RESUME {an} lobby" "RESUME on instance 2"
                Expect.equal (b.Command "/token") $"OK TOKEN {t}" "the same token"
                waitUsers w wait $"{an} online" (List.contains an)
                Expect.equal (b.Command "/quit") "OK QUIT" "/quit on instance 2"
                b.WaitClosed()
                waitUsers w wait $"{an} offline" (List.contains an >> not)
                let one = c.Connect(1, "again")
                let refused = Resume.resume one an t
                Expect.stringStarts refused "ERR AUTH_FAILED " "RESUME on instance 1 after the /quit"
                Expect.equal refused (one.Command $"LOGIN {an} wrong-password") "the answer of a wrong password"

                for node in c.Nodes do
                    Resume.hidden node [ t ]

            case "a DM from instance 1 reaches an online recipient on instance 2, with the sender's id, in order"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let a, an = c.User(1, "from")
                let b, bn = c.User(2, "to")
                let texts = [ for i in 1..50 -> $"across {i}" ]
                let ids = Direct.sendAll a bn texts
                Expect.isTrue (Direct.increasing ids) "the OK MSG ids increase"
                Expect.equal (dms b 50) (List.map2 (fun id t -> id, an, t) ids texts) "the DMs on instance 2"
                a.AssertNotReceived(Direct.isDm, "its own DMs")

            offline

            case "/history after on instance 2 returns what was said on instance 1"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)
                let b, _ = c.UserIn(2, "b", room)
                let texts = [ for i in 1..12 -> $"said {i}" ]
                a.SendAll texts

                let ids = [
                    for t in texts ->
                        let _, id, _, _ =
                            a.ExpectMatch((fun l -> Lines.isMsgFrom an l && l.EndsWith $" {t}"), t)
                            |> Lines.msg

                        id
                ]

                let said = List.zip ids texts

                let page (command: string) =
                    b.Sync()
                    b.Clear()
                    let reply = b.Command command
                    let hist = b.TakeAll(fun l -> l.StartsWith "HIST ") |> List.map Lines.hist
                    Expect.equal reply $"OK HISTORY {hist.Length}" command
                    hist |> List.map (fun (_, id, _, _, text) -> id, text)

                Expect.equal (page $"/history after {ids[3]} 5") said[4..8] "after the fourth"
                Expect.equal (page "/history after 0-0 100") said "after 0-0"
                Expect.equal (page $"/history before {ids[11]} 3") said[8..10] "before the last"
        ]
