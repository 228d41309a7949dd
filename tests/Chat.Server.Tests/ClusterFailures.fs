namespace Chat.Server.Tests

open System
open System.Diagnostics
open Expecto
open Chat.Testing
open ClusterTesting

/// An instance that crashes or stops, while another goes on (PROTOCOL.md "After login": SYS LEAVE
/// when a session ends "for any reason (... crash of my server)"; "Starting a server": a stop
/// removes its own sessions, never anyone else's).
module ClusterFailures =
    [<Tests>]
    let tests =
        ClusterSuite.perTestOnEach "ClusterFailures" [
            case "kill -9 of an instance: its sessions are swept within 30 s and the users log in elsewhere"
            <| fun (this: ClusterPerTest) ->

                let redis = this.NewTopology()

                let c =
                    this.NewCluster(redis.Configuration, 2, [ "--duplicate-login"; "reject" ], "crash")

                let room = c.Name "room"
                let w, wn = c.UserIn(1, "w", room)
                let lobby, _ = c.User(1, "l")
                let v, vn = c.UserIn(2, "v", room)
                let v2, v2n = c.User(2, "v")
                w.Expect $"SYS JOIN {room} {vn}" |> ignore
                lobby.Expect $"SYS JOIN lobby {v2n}" |> ignore
                c.Node(2).Kill()
                let clock = Stopwatch.StartNew()

                Expect.isSome
                    (c.Node(2).WaitForExit(TimeSpan.FromSeconds 10.0))
                    "c.Node(2).WaitForExit(TimeSpan.FromSeconds 10.0)"

                v.WaitClosed()
                v2.WaitClosed()
                // Its alive key was refreshed at most 3 s ago and lives 10 s: the session still holds.
                let again = c.Connect(1, "again")

                Expect.stringStarts
                    (again.Command $"LOGIN {vn} {Cluster.Password}")
                    "ERR DUPLICATE_LOGIN "
                    "again.Command $'LOGIN {vn} {Cluster.Password}'"

                w.Expect($"SYS LEAVE {room} {vn}", TimeSpan.FromSeconds 30.0) |> ignore
                lobby.Expect($"SYS LEAVE lobby {v2n}", TimeSpan.FromSeconds 30.0) |> ignore

                waitUsers w (TimeSpan.FromSeconds 5.0) "the swept users gone from /users" (fun u ->
                    not (List.contains vn u) && not (List.contains v2n u))

                Expect.equal
                    (Lines.items "WHO" (w.Command "/who"))
                    ([ room; wn ])
                    "Lines.items 'WHO' (w.Command '/who')"

                Poll.until (TimeSpan.FromSeconds 30.0 - clock.Elapsed) $"{vn} to log in on the survivor" (fun () ->
                    again.Command $"LOGIN {vn} {Cluster.Password}" = $"OK LOGIN {vn} lobby")

                printfn $"swept and logged in again {clock.Elapsed.TotalSeconds:F1} s after the kill"
                Expect.equal (again.Command $"/join {room}") $"OK JOIN {room}" "again.Command $'/join {room}'"
                w.Expect $"SYS JOIN {room} {vn}" |> ignore
                Expect.contains (users w) vn "users w"
                Expect.notContains (users w) v2n "users w"

                Poll.until (TimeSpan.FromSeconds 10.0) "the dead server forgotten" (fun () ->
                    not (
                        (redis.Command [ "SMEMBERS"; "chat:{index}:servers" ]).Split('\n')
                        |> Array.contains (c.Id 2)
                    ))

            case "SIGTERM of an instance removes its own sessions only"
            <| fun (this: ClusterPerTest) ->
                let redis = this.NewTopology()
                let c = this.NewCluster(redis.Configuration, 2, [], "term")
                let a, an = c.User(1, "a")
                let b, bn = c.User(2, "b")
                let d, dn = c.User(2, "d")
                // x logs in on node 2, then on node 1: node 2's session of x is ended, node 1's stays.
                let x2, xn = c.User(2, "x")
                let x1 = c.Login(1, xn)
                x2.Expect ClusterLogins.forcedLogout |> ignore
                x2.WaitClosed()
                c.WaitLog(2, $"logout user={xn} ", TimeSpan.FromSeconds 10.0)
                let expected = List.sort [ an; bn; dn; xn ]

                Expect.equal
                    (users a |> List.filter (fun u -> List.contains u expected))
                    (expected)
                    "users a |> List.filter (fun u -> List.contains u expected)"

                c.Node(2).Stop()

                for client in [ b; d ] do
                    client.ExpectPrefix "SYS SHUTDOWN " |> ignore
                    client.WaitClosed()

                Expect.equal (c.Node(2).WaitForExit(TimeSpan.FromSeconds 30.0)) (Some 0) (c.Node(2).OutputText())

                for client in [ a; x1 ] do
                    client.Expect $"SYS LEAVE lobby {bn}" |> ignore
                    client.Expect $"SYS LEAVE lobby {dn}" |> ignore

                let online = users a |> List.filter (fun u -> List.contains u expected)
                Expect.equal online ([ an; xn ]) "online"

                Expect.equal (redis.Command [ "HKEYS"; "chat:{s:term2}:sessions" ]) "" "term2 holds no sessions"

                Expect.equal (redis.Command [ "SMEMBERS"; "chat:{index}:servers" ]) "term1" "the servers index"

                Expect.equal
                    (redis.Command [ "HGET"; $"chat:{{u:{xn}}}:session"; "server" ])
                    "term1"
                    "x's session is term1's"

                Expect.equal (x1.Command "/join still-here") "OK JOIN still-here" "x1.Command '/join still-here'"
                x1.Send "x talks"

                x1.ExpectMatch((fun l -> Lines.isMsgFrom xn l && l.EndsWith " x talks"), "x's MSG")
                |> ignore

                a.AssertNotReceived((fun l -> l.StartsWith "SYS LEAVE" && l.EndsWith $" {an}"), "its own LEAVE")
                Expect.isFalse (a.IsClosed || x1.IsClosed) "a.IsClosed || x1.IsClosed"
        ]
