namespace Chat.Testing

open System

/// The kinds of Redis the servers under test can be given: what a suite is parameterized by.
[<RequireQualifiedAccess>]
type TopologyKind =
    | Single
    | Cluster
    | Sentinel

    /// `single`, `cluster` or `sentinel`: as the kind shows in test names and CHAT_TEST_TOPOLOGIES.
    member this.Name =
        match this with
        | Single -> "single"
        | Cluster -> "cluster"
        | Sentinel -> "sentinel"

    static member All = [ Single; Cluster; Sentinel ]

/// What the servers under test use as Redis (their `--redis`): one redis-server, a Redis Cluster
/// of three masters and three replicas, or a master and a replica behind three sentinels.
[<RequireQualifiedAccess>]
type RedisTopology =
    | Single of RedisServer
    | Cluster of RedisCluster
    | Sentinel of RedisSentinel

    member this.Kind =
        match this with
        | Single _ -> TopologyKind.Single
        | Cluster _ -> TopologyKind.Cluster
        | Sentinel _ -> TopologyKind.Sentinel

    /// The value of the servers' `--redis`.
    member this.Configuration =
        match this with
        | Single r -> r.Configuration
        | Cluster c -> c.Configuration
        | Sentinel s -> s.Configuration

    /// Every redis-server process of the topology that holds data (not the sentinels).
    member this.Servers =
        match this with
        | Single r -> [ r ]
        | Cluster c -> c.Servers
        | Sentinel s -> s.Servers

    /// The running masters.
    member this.Masters =
        match this with
        | Single r -> [ r ]
        | Cluster c -> c.MasterPorts() |> List.map c.Node
        | Sentinel s -> [ s.Master ]

    /// Runs one keyed command (its key second: `[ "GET"; key ]`) on the master that holds the key.
    member this.Command(args: string list) =
        match this, args with
        | Single r, _ -> r.Command args
        | Sentinel s, _ -> s.Master.Command args
        | Cluster c, _ :: key :: _ -> c.CommandFor(key, args)
        | Cluster _, _ -> invalidArg (nameof args) $"{args}: a cluster command needs a key to be routed by"

    /// `CLIENT KILL TYPE pubsub` on every running data node; how many connections were closed.
    member this.KillPubSubClients() =
        match this with
        | Single r -> int (r.Command [ "CLIENT"; "KILL"; "TYPE"; "pubsub" ])
        | Cluster c -> c.KillPubSubClients()
        | Sentinel s -> s.KillPubSubClients()

    /// How many Pub/Sub connections the running data nodes have (`CLIENT LIST TYPE pubsub`).
    member this.PubSubClients() =
        this.Servers
        |> List.filter _.IsRunning
        |> List.sumBy (fun s ->
            (s.Command [ "CLIENT"; "LIST"; "TYPE"; "pubsub" ])
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Length)

    interface IDisposable with
        member this.Dispose() =
            match this with
            | Single r -> (r :> IDisposable).Dispose()
            | Cluster c -> (c :> IDisposable).Dispose()
            | Sentinel s -> (s :> IDisposable).Dispose()

module RedisTopology =
    /// One fresh redis-server, nothing on disk.
    let single () = RedisTopology.Single(new RedisServer())

    /// A fresh topology of `kind`, ready (see RedisCluster and RedisSentinel for what that means).
    let start (kind: TopologyKind) =
        match kind with
        | TopologyKind.Single -> single ()
        | TopologyKind.Cluster -> RedisTopology.Cluster(new RedisCluster())
        | TopologyKind.Sentinel -> RedisTopology.Sentinel(new RedisSentinel())
