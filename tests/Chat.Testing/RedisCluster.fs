namespace Chat.Testing

open System
open System.Diagnostics

/// One line of `CLUSTER NODES`, as far as the harness reads it.
type ClusterNodeInfo = {
    Id: string
    Port: int
    IsMaster: bool
    /// Flagged `fail`, `fail?` or `noaddr` by the node that was asked.
    IsFailing: bool
    /// The id of the master it replicates ("-" for a master).
    MasterId: string
    /// The slot ranges it serves (inclusive), as that node sees them.
    Slots: (int * int) list
}

module ClusterNodes =
    let private range (s: string) =
        match s.Split '-' with
        | [| a |] -> Some(int a, int a)
        | [| a; b |] -> Some(int a, int b)
        | _ -> None

    /// Parses the reply of `CLUSTER NODES` (slots being migrated, `[...]`, are left out).
    let parse (reply: string) : ClusterNodeInfo list = [
        for line in reply.Split('\n', StringSplitOptions.RemoveEmptyEntries) do
            let f = line.Trim().Split ' '
            let address = f[1].Split('@')[0]
            let flags = f[2].Split ','

            {
                Id = f[0]
                Port = int (address.Substring(address.LastIndexOf ':' + 1))
                IsMaster = Array.contains "master" flags
                IsFailing = flags |> Array.exists (fun x -> x = "fail" || x = "fail?" || x = "noaddr")
                MasterId = f[3]
                Slots =
                    f
                    |> Array.skip 8
                    |> Array.filter (fun s -> not (s.StartsWith "["))
                    |> Array.choose range
                    |> List.ofArray
            }
    ]

    /// Every slot 0..16383 is served by one of `masters` (by their ranges).
    let coversAllSlots (masters: ClusterNodeInfo list) =
        let covered = Array.zeroCreate<bool> 16384

        for m in masters do
            for a, b in m.Slots do
                for s in a..b do
                    covered[s] <- true

        Array.forall id covered

/// A Redis Cluster of three masters with one replica each: six redis-server processes on free
/// loopback ports (`--cluster-enabled yes --cluster-node-timeout 2000`, nothing kept on disk
/// but each node's nodes.conf in its own directory, so a restarted node rejoins), made with
/// `redis-cli --cluster create ... --cluster-replicas 1` and ready once every node says
/// `cluster_state:ok`, sees every slot served and every replica is in sync.
type RedisCluster() =
    let busPorts = Array.init 6 (fun _ -> Ports.free ())

    let nodeArgs (bus: int) = [
        "--cluster-enabled"
        "yes"
        "--cluster-node-timeout"
        "2000"
        "--cluster-config-file"
        "nodes.conf"
        // The bus port is its own free port: port+10000 (the default) may be taken or too high.
        "--cluster-port"
        string bus
        "--loglevel"
        "warning"
    ]

    let servers = ResizeArray<RedisServer>()
    let clock = Stopwatch.StartNew()

    let byPort (port: int) =
        match servers |> Seq.tryFind (fun s -> s.Port = port) with
        | Some s -> s
        | None -> failwith $"no cluster node on port {port}"

    let live () =
        servers |> Seq.filter _.IsRunning |> List.ofSeq

    let nodesSeenBy (s: RedisServer) =
        ClusterNodes.parse (s.Command [ "CLUSTER"; "NODES" ])

    let isOk (s: RedisServer) =
        (s.Command [ "CLUSTER"; "INFO" ]).Contains "cluster_state:ok"

    /// Every live node: state ok, and every slot served by a master that is alive and not failing.
    let healthy () =
        let ports = live () |> List.map _.Port |> set

        live ()
        |> List.forall (fun s ->
            try
                let masters =
                    nodesSeenBy s
                    |> List.filter (fun n -> n.IsMaster && not n.IsFailing && not n.Slots.IsEmpty)

                isOk s
                && masters |> List.forall (fun m -> ports.Contains m.Port)
                && ClusterNodes.coversAllSlots masters
            with _ ->
                false)

    /// Every live replica's link to its master is up.
    let replicasInSync () =
        live ()
        |> List.forall (fun s ->
            let info = s.Command [ "INFO"; "replication" ]

            info.Contains "role:master" || info.Contains "master_link_status:up")

    let waitHealthy (timeout: TimeSpan) (what: string) =
        let started = Stopwatch.StartNew()
        Poll.until timeout what (fun () -> healthy () && replicasInSync ())
        started.Elapsed

    let dispose () =
        for s in servers do
            (s :> IDisposable).Dispose()

    do
        try
            for bus in busPorts do
                servers.Add(new RedisServer(extraArgs = nodeArgs bus))

            let create =
                ChildProcess.Start(
                    "redis-cli",
                    [ "--cluster"; "create" ]
                    @ [ for s in servers -> s.Address ]
                    @ [ "--cluster-replicas"; "1"; "--cluster-yes" ],
                    name = "redis-cli --cluster create"
                )

            use _ = create

            match create.WaitForExit(TimeSpan.FromSeconds 60.0) with
            | Some 0 -> ()
            | code -> failwith $"redis-cli --cluster create ended with {code}:\n{create.OutputText 40}"

            waitHealthy (TimeSpan.FromSeconds 30.0) "the new cluster: state ok, all slots served, replicas in sync"
            |> ignore
        with _ ->
            dispose ()
            reraise ()

    let startup = clock.Elapsed

    /// How long it took to start the processes, create the cluster and see it ready.
    member _.StartupTime = startup

    /// The `--redis` value: the three first masters' addresses (the client finds the rest).
    member _.Configuration =
        let masters =
            nodesSeenBy (live () |> List.head)
            |> List.filter (fun n -> n.IsMaster && not n.IsFailing)
            |> List.map (fun n -> $"127.0.0.1:{n.Port}")

        String.Join(",", masters)

    /// Every redis-server process, running or killed.
    member _.Servers = List.ofSeq servers
    member _.Ports = [ for s in servers -> s.Port ]
    member _.Node(port: int) = byPort port

    /// The nodes as a live node sees them now (ports and roles).
    member _.Nodes() = nodesSeenBy (live () |> List.head)

    member this.MasterPorts() =
        this.Nodes()
        |> List.filter (fun n -> n.IsMaster && not n.IsFailing)
        |> List.map _.Port

    /// The hash slot of `key` (`CLUSTER KEYSLOT`).
    member _.SlotOf(key: string) =
        int ((live () |> List.head).Command [ "CLUSTER"; "KEYSLOT"; key ])

    /// The port of the live master that serves `key`'s slot now.
    member this.OwnerOf(key: string) =
        let slot = this.SlotOf key

        match
            this.Nodes()
            |> List.tryFind (fun n ->
                n.IsMaster
                && not n.IsFailing
                && n.Slots |> List.exists (fun (a, b) -> a <= slot && slot <= b))
        with
        | Some n -> n.Port
        | None -> failwith $"no live master serves slot {slot} of {key}"

    /// Runs one command on the master that owns `key`.
    member this.CommandFor(key: string, args: string list) =
        (byPort (this.OwnerOf key)).Command args

    /// A crash of the node on `port`: SIGKILL.
    member _.KillNode(port: int) = (byPort port).Kill()

    /// Kills (SIGKILL) the master that owns `key`'s slot; returns its port.
    member this.KillMaster(slotOwnerOf: string) =
        let port = this.OwnerOf slotOwnerOf
        this.KillNode port
        port

    /// Starts the node on `port` again, same port and directory: it rejoins from its nodes.conf
    /// (a master that was failed over comes back as a replica of its successor). Waits until the
    /// cluster is healthy and in sync with it.
    member _.RestartNode(port: int) =
        (byPort port).Restart()

        waitHealthy (TimeSpan.FromSeconds 30.0) $"node {port} back in the cluster"
        |> ignore

    /// Waits until the failover is done: `cluster_state:ok` on every live node, and every slot served
    /// by a live master. Returns how long it waited.
    member _.WaitForFailover(?timeout: TimeSpan) =
        let started = Stopwatch.StartNew()

        Poll.until (defaultArg timeout (TimeSpan.FromSeconds 30.0)) "the cluster failed over" healthy

        started.Elapsed

    /// `CLIENT KILL TYPE pubsub` on every live node; how many connections were closed.
    member _.KillPubSubClients() =
        live ()
        |> List.sumBy (fun s -> int (s.Command [ "CLIENT"; "KILL"; "TYPE"; "pubsub" ]))

    interface IDisposable with
        member _.Dispose() = dispose ()
