namespace Chat.Server.Tests

open System
open Expecto
open Chat.Testing
open ClusterTesting

/// The bus link (Redis Pub/Sub) of every instance cut by `CLIENT KILL TYPE pubsub` while two
/// publishers talk: nothing lost, nothing twice, each publisher's order kept (PROTOCOL.md
/// "Guarantees"). RedisBus bridges the cut: every bus event carries `<epoch> <seq>` and is also
/// appended to `chat:bus:log`; when the subscription comes back (the instance logs "bus link
/// back; catching up from the bus log"), or when a number is missing, the instance reads what it
/// missed back from the log, holds later arrivals meanwhile, and hands everything on in number
/// order, each event once.
module ClusterBusGap =
    let private cut (redis: RedisServer) =
        let killed = redis.Command [ "CLIENT"; "KILL"; "TYPE"; "pubsub" ]
        Expect.isGreaterThanOrEqual (int killed) 2 "both instances' bus links"
        killed

    /// The link did break on each instance and came back (the library does not always report
    /// the break itself, so only the return is checked).
    let private bridged (c: Cluster) =
        for node in [ 1; 2 ] do
            c.WaitLog(node, "bus link back", TimeSpan.FromSeconds 10.0)

    [<Tests>]
    let tests =
        ClusterSuite.perTest "ClusterBusGap" [
            skipped
                "known bug: a cut of the bus link during a catch-up can lose events (~1 run in 4); issue 11 replaces this bus"
            <| case "room messages sent around it all arrive, in order, once" (fun (this: ClusterPerTest) ->
                let redis = this.NewRedis()
                let c = this.NewCluster(redis.Configuration, 2, [ "--msg-rate"; "0" ], "bus")
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)
                let b, bn = c.UserIn(2, "b", room)
                let r, _ = c.UserIn(1, "r", room)
                let cuts = 3
                let slice = 60
                let count = slice * (cuts + 1)

                let burst (first: int) =
                    for i in first .. first + slice - 1 do
                        a.Send $"{an}-{i}"
                        b.Send $"{bn}-{i}"

                // Bursts with a cut while each is under way; the next cut once both links are back.
                for n in 1..cuts do
                    burst ((n - 1) * slice)
                    cut redis |> ignore

                    Poll.until (TimeSpan.FromSeconds 10.0) $"both bus links back after cut {n}" (fun () ->
                        c.LogCount(1, "bus link back") >= n && c.LogCount(2, "bus link back") >= n)

                burst (cuts * slice)

                for client in [ a; b; r ] do
                    for user in [ an; bn ] do
                        expectFrom client user [ for i in 0 .. count - 1 -> $"{user}-{i}" ] (TimeSpan.FromSeconds 20.0)

                    Expect.isEmpty
                        (client.Received |> List.filter (fun l -> l.StartsWith "ERR "))
                        "client.Received |> List.filter (fun l -> l.StartsWith 'ERR ')"

                bridged c)

            case "publications sent around it all arrive, in order with the room messages"
            <| fun (this: ClusterPerTest) ->
                let redis = this.NewRedis()
                let c = this.NewCluster(redis.Configuration, 2, [ "--msg-rate"; "0" ], "pubgap")
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)
                let b, bn = c.UserIn(2, "b", room)
                let inRoom = [ c.UserIn(1, "r", room); c.UserIn(2, "r", room) ]
                let elsewhere = [ c.User(1, "e"); c.User(2, "e") ]

                for s, _ in inRoom @ elsewhere do
                    for p in [ an; bn ] do
                        Expect.equal (s.Command $"/subscribe {p}") $"OK SUBSCRIBE {p}" "s.Command $'/subscribe {p}'"

                let count = 200
                let isPublish i = i % 2 = 1

                let burst (first: int) =
                    for i in first .. first + count / 2 - 1 do
                        for client, name in [ a, an; b, bn ] do
                            client.Send(
                                if isPublish i then
                                    $"/publish {name}-{i}"
                                else
                                    $"{name}-{i}"
                            )

                burst 0
                cut redis |> ignore
                burst (count / 2)

                let expected (all: bool) (p: string) = [
                    for i in 0 .. count - 1 do
                        if all || isPublish i then
                            $"{p}-{i}"
                ]

                for s, _ in inRoom do
                    for p in [ an; bn ] do
                        expectFrom s p (expected true p) (TimeSpan.FromSeconds 20.0)

                for s, _ in elsewhere do
                    for p in [ an; bn ] do
                        expectFrom s p (expected false p) (TimeSpan.FromSeconds 20.0)

                bridged c
        ]
