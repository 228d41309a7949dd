namespace Chat.Server.Tests

open System
open System.Net
open System.Net.Sockets
open System.Text
open Expecto
open StackExchange.Redis
open Chat.Testing

/// The Redis fixtures themselves, without a chat server: each topology starts, serves keys of
/// different slots through its `--redis` string, fails over, and takes a killed node back.
module Topologies =
    // Keys of the shapes the server uses, in different hash slots.
    let private keys = [
        "chat:{r:lobby}:log"
        "chat:{u:alice}:pubs"
        "chat:{index}:servers"
        "chat:{s:x1}:alive"
    ]

    /// A raw connection subscribed to a channel on `port`, left open.
    let private subscriber (port: int) =
        let tcp = new TcpClient()
        tcp.Connect(IPAddress.Loopback, port)
        let bytes = Encoding.ASCII.GetBytes "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nprobe\r\n"
        tcp.GetStream().Write(bytes, 0, bytes.Length)
        tcp.GetStream().Read(Array.zeroCreate<byte> 64, 0, 64) |> ignore
        tcp

    let private writeThrough (redis: RedisTopology) =
        use client = ConnectionMultiplexer.Connect(redis.Configuration)
        let db = client.GetDatabase()

        for k in keys do
            Expect.isTrue (db.StringSet(RedisKey k, RedisValue $"via-client {k}")) $"SET {k}"

        for k in keys do
            Expect.equal (string (db.StringGet(RedisKey k))) $"via-client {k}" $"GET {k} through the client"
            Expect.equal (redis.Command [ "GET"; k ]) $"via-client {k}" $"GET {k} on the master holding it"

    [<Tests>]
    let tests =
        ClusterSuite.unlabelled [
            ClusterSuite.perTestOn TopologyKind.All "topologies" [
                case "starts, and serves keys of different slots through its --redis string"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()
                    printfn $"{this.Kind.Name}: --redis {redis.Configuration}"
                    writeThrough redis

                    match redis with
                    | RedisTopology.Cluster c ->
                        let owners = keys |> List.map c.OwnerOf |> List.distinct
                        Expect.isGreaterThan owners.Length 1 "the keys live on more than one master"
                        Expect.hasLength (c.MasterPorts()) 3 "three masters"
                        Expect.hasLength c.Servers 6 "six nodes"
                        printfn $"cluster ready in {c.StartupTime.TotalSeconds:F1} s"
                    | RedisTopology.Sentinel s -> printfn $"sentinel group ready in {s.StartupTime.TotalSeconds:F1} s"
                    | RedisTopology.Single _ -> ()

                case "CLIENT KILL TYPE pubsub reaches the subscribers of every data node"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()
                    let subs = [ for s in redis.Servers -> subscriber s.Port ]

                    try
                        // The sentinels' own subscriptions (their hello channel) are closed too.
                        Expect.isGreaterThanOrEqual (redis.KillPubSubClients()) subs.Length "connections closed"

                        for s in subs do
                            s.ReceiveTimeout <- 5000

                            Expect.equal
                                (s.GetStream().Read(Array.zeroCreate<byte> 64, 0, 64))
                                0
                                "the subscriber closed"
                    finally
                        for s in subs do
                            s.Dispose()
            ]
            ClusterSuite.perTestOn [ TopologyKind.Cluster ] "topologies" [
                case "a killed master's replica takes its slots, and the master rejoins as a replica"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()

                    match redis with
                    | RedisTopology.Cluster c ->
                        let key = "chat:{r:X}:log"
                        c.CommandFor(key, [ "SET"; key; "before" ]) |> ignore
                        Expect.equal (c.CommandFor(key, [ "WAIT"; "1"; "5000" ])) "1" "replicated before the kill"
                        let killed = c.KillMaster key
                        let took = c.WaitForFailover()
                        printfn $"cluster failover of {killed} done {took.TotalSeconds:F1} s after the kill"
                        Expect.notEqual (c.OwnerOf key) killed "a new owner"
                        Expect.equal (c.CommandFor(key, [ "GET"; key ])) "before" "the replicated write kept"
                        c.RestartNode killed
                        let back = c.Nodes() |> List.find (fun n -> n.Port = killed)
                        Expect.isFalse back.IsMaster "back as a replica"
                        writeThrough redis
                    | other -> failtest $"not a cluster: {other.Kind}"
            ]
            ClusterSuite.perTestOn [ TopologyKind.Sentinel ] "topologies" [
                case "the sentinels promote the replica, and the old master comes back as its replica"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()

                    match redis with
                    | RedisTopology.Sentinel s ->
                        s.Master.Command [ "SET"; "k"; "before" ] |> ignore
                        Expect.equal (s.Master.Command [ "WAIT"; "1"; "5000" ]) "1" "replicated before the kill"
                        let killed = s.KillMaster()
                        let port, took = s.WaitForFailover()
                        printfn $"sentinel failover {killed} -> {port} done {took.TotalSeconds:F1} s after the kill"
                        Expect.notEqual port killed "a new master"
                        Expect.equal s.MasterPort port "the fixture follows it"
                        Expect.equal (s.Master.Command [ "GET"; "k" ]) "before" "the replicated write kept"
                        s.RestartOld()
                        Expect.stringStarts (s.Replica.Command [ "ROLE" ]) "slave" "the old master is a replica"
                        Expect.equal s.Replica.Port killed "the old master is the replica"
                        writeThrough redis
                    | other -> failtest $"not a sentinel group: {other.Kind}"
            ]
        ]
