namespace Chat.Testing

open System
open System.Diagnostics
open System.IO

/// One `redis-server <conf> --sentinel` on a free loopback port, its configuration (which it
/// rewrites as it learns) in a directory of its own.
type SentinelProcess(masterName: string, masterPort: int, quorum: int) =
    let dir = Directory.CreateTempSubdirectory("chat-sentinel-").FullName
    let port = Ports.free ()
    let conf = Path.Combine(dir, "sentinel.conf")

    do
        File.WriteAllLines(
            conf,
            [
                $"port {port}"
                "bind 127.0.0.1"
                $"dir {dir}"
                "daemonize no"
                "sentinel resolve-hostnames no"
                $"sentinel monitor {masterName} 127.0.0.1 {masterPort} {quorum}"
                $"sentinel down-after-milliseconds {masterName} 1000"
                $"sentinel failover-timeout {masterName} 5000"
                $"sentinel parallel-syncs {masterName} 1"
            ]
        )

    let child =
        ChildProcess.Start("redis-server", [ conf; "--sentinel" ], name = $"redis-sentinel:{port}")

    do
        try
            Poll.until (TimeSpan.FromSeconds 15.0) $"sentinel on port {port} to answer PING" (fun () ->
                if child.HasExited then
                    failwithf "redis-sentinel exited:\n%s" (child.OutputText 20)

                try
                    Resp.command port [ "PING" ] = "PONG"
                with _ ->
                    false)
        with _ ->
            (child :> IDisposable).Dispose()
            reraise ()

    member _.Port = port
    member _.Address = $"127.0.0.1:{port}"
    member _.Command(args: string list) = Resp.command port args
    member _.LogTail(?last: int) = child.OutputText(defaultArg last 20)

    /// `SENTINEL master <name>` as field/value pairs.
    member this.Master() =
        (this.Command [ "SENTINEL"; "MASTER"; masterName ]).Split '\n'
        |> Array.chunkBySize 2
        |> Array.choose (function
            | [| k; v |] -> Some(k, v)
            | _ -> None)
        |> Map.ofArray

    /// The port `SENTINEL get-master-addr-by-name` gives.
    member this.MasterPort() =
        match (this.Command [ "SENTINEL"; "GET-MASTER-ADDR-BY-NAME"; masterName ]) with
        | null -> None
        | reply ->
            match reply.Split '\n' with
            | [| _; p |] -> Some(int p)
            | _ -> None

    interface IDisposable with
        member _.Dispose() =
            (child :> IDisposable).Dispose()

            try
                Directory.Delete(dir, true)
            with _ ->
                ()

/// A Sentinel group: a master, one replica (`--replicaof`) and three sentinels (quorum 2,
/// `down-after-milliseconds 1000`, `failover-timeout 5000`), all on free loopback ports; ready
/// once every sentinel sees the master, the replica and the two other sentinels.
type RedisSentinel() =
    static let name = "chatmaster"
    let clock = Stopwatch.StartNew()
    let first = new RedisServer(extraArgs = [ "--loglevel"; "warning" ])
    let owned = ResizeArray<IDisposable>([ first :> IDisposable ])
    let mutable master = first
    let mutable replica = Unchecked.defaultof<RedisServer>
    let mutable second = Unchecked.defaultof<RedisServer>
    let mutable lastKilled: RedisServer option = None
    let sentinels = ResizeArray<SentinelProcess>()

    let dispose () =
        for d in Seq.rev owned do
            d.Dispose()

    // SENTINEL REPLICAS: each replica's field/value pairs, flattened; each starts with `name`.
    let replicaSeen (s: SentinelProcess) (port: int) =
        let pairs =
            (s.Command [ "SENTINEL"; "REPLICAS"; name ]).Split '\n'
            |> Array.chunkBySize 2
            |> Array.choose (function
                | [| k; v |] -> Some(k, v)
                | _ -> None)
            |> List.ofArray

        let rec replicas acc current =
            function
            | [] -> List.rev (Map.ofList current :: acc)
            | ("name", _ as p) :: rest when not current.IsEmpty -> replicas (Map.ofList current :: acc) [ p ] rest
            | p :: rest -> replicas acc (p :: current) rest

        replicas [] [] pairs
        |> List.exists (fun r -> r.TryFind "name" = Some $"127.0.0.1:{port}" && r.TryFind "flags" = Some "slave")

    let ready () =
        sentinels
        |> Seq.forall (fun s ->
            try
                let m = s.Master()

                s.MasterPort() = Some master.Port
                && m["flags"] = "master"
                && m["num-other-sentinels"] = "2"
                && m["num-slaves"] = "1"
                && replicaSeen s replica.Port
            with _ ->
                false)

    let inSync () =
        (replica.Command [ "INFO"; "replication" ]).Contains "master_link_status:up"

    do
        try
            replica <-
                new RedisServer(extraArgs = [ "--loglevel"; "warning"; "--replicaof"; "127.0.0.1"; string first.Port ])

            second <- replica
            owned.Add replica

            for _ in 1..3 do
                let s = new SentinelProcess(name, first.Port, 2)
                sentinels.Add s
                owned.Add s

            Poll.until
                (TimeSpan.FromSeconds 30.0)
                "every sentinel to see the master, the replica and the others"
                (fun () -> inSync () && ready ())
        with _ ->
            dispose ()
            reraise ()

    let startup = clock.Elapsed

    static member ServiceName = name
    member _.StartupTime = startup

    /// The `--redis` value: the sentinels' addresses and `serviceName=chatmaster`.
    member _.Configuration =
        String.Join(",", [ for s in sentinels -> s.Address ]) + $",serviceName={name}"

    member _.Sentinels = List.ofSeq sentinels
    /// The master and the replica (running or killed).
    member _.Servers = [ first; second ]
    member _.Master = master
    member _.Replica = replica
    member _.MasterPort = master.Port

    /// Kills the master (SIGKILL); returns its port.
    member _.KillMaster() =
        master.Kill()
        lastKilled <- Some master
        master.Port

    /// Waits until every sentinel names another master than the one killed, and it answers as
    /// master; returns its port and how long that took since the call.
    member _.WaitForFailover(?timeout: TimeSpan) =
        let started = Stopwatch.StartNew()
        let old = master.Port

        let port =
            Poll.untilSome
                (defaultArg timeout (TimeSpan.FromSeconds 30.0))
                "the sentinels to elect a new master"
                (fun () ->
                    let named =
                        sentinels |> Seq.map (fun s -> s.MasterPort()) |> Seq.distinct |> List.ofSeq

                    match named with
                    | [ Some p ] when p <> old && p = replica.Port ->
                        if (replica.Command [ "ROLE" ]).StartsWith "master" then
                            Some p
                        else
                            None
                    | _ -> None)

        let promoted = replica
        replica <- master
        master <- promoted
        port, started.Elapsed

    /// Starts the killed master again, same port, as a replica of the new master; waits until the
    /// sentinels see it as such and it is in sync.
    member _.RestartOld() =
        match lastKilled with
        | None -> failwith "no master was killed"
        | Some old ->
            old.Restart()
            old.Command [ "REPLICAOF"; "127.0.0.1"; string master.Port ] |> ignore
            lastKilled <- None

            Poll.until (TimeSpan.FromSeconds 30.0) "the old master back as a replica" (fun () -> inSync () && ready ())

    /// Bytes of the replication stream the master holds for the replica and has not yet written to
    /// its socket (`omem` in `CLIENT LIST TYPE replica`).
    member _.Unsent() =
        (master.Command [ "CLIENT"; "LIST"; "TYPE"; "replica" ]).Split([| '\n'; ' ' |])
        |> Array.filter _.StartsWith("omem=")
        |> Array.sumBy (fun f -> int64 (f.Substring 5))

    /// Makes the replica miss what the master is told next: freezes it (SIGSTOP), then writes
    /// `filler` bytes (one value, replicated as it is) on the master until the kernel's buffers
    /// between them are full and the master holds replication data it cannot send. Whatever is
    /// written after this is lost if the master dies before `ReleaseReplica`. Replication being
    /// asynchronous, nothing on the master's side waits for the replica.
    member this.HoldBackReplica(filler: int) =
        replica.Freeze()

        master.Command [
            "EVAL"
            "redis.call('SET', KEYS[1], string.rep('x', tonumber(ARGV[1]))) return 1"
            "1"
            "chat-test:filler"
            string filler
        ]
        |> ignore

        Poll.until (TimeSpan.FromSeconds 10.0) "the master to hold data the replica has not read" (fun () ->
            this.Unsent() > 0L)

    /// Thaws the replica `HoldBackReplica` froze: it reads what reached its socket, then carries on.
    member _.ReleaseReplica() = replica.Thaw()

    /// `CLIENT KILL TYPE pubsub` on the running master and replica; how many connections were closed.
    member this.KillPubSubClients() =
        this.Servers
        |> List.filter _.IsRunning
        |> List.sumBy (fun s -> int (s.Command [ "CLIENT"; "KILL"; "TYPE"; "pubsub" ]))

    interface IDisposable with
        member _.Dispose() = dispose ()
