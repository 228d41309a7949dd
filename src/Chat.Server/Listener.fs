namespace Chat.Server

open System
open System.Collections.Generic
open System.Net
open System.Net.Sockets
open System.Threading
open Chat.Domain

/// Accepts connections on its own thread and starts one `Connection` (one thread) for each,
/// within the instance's and the per-address limits (Admission.connection decides).
type Listener(bind: IPAddress, port: int, maxTotal: int, maxPerAddress: int, settings: ConnectionSettings) =
    let log = settings.Session.Log
    let socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
    let gate = obj ()
    let live = HashSet<Connection>(HashIdentity.Reference)
    let perAddress = Dictionary<IPAddress, int>()
    let allGone = new ManualResetEventSlim(true)
    let mutable stopping = false
    // Connections counted in and not yet ended (`live` holds them only once they started).
    let mutable admitted = 0

    let ended (c: Connection) =
        lock gate (fun () ->
            live.Remove c |> ignore
            admitted <- admitted - 1

            match perAddress.TryGetValue c.Peer with
            | true, 1 -> perAddress.Remove c.Peer |> ignore
            | true, n -> perAddress[c.Peer] <- n - 1
            | _ -> ()

            if live.Count = 0 then
                allGone.Set())

    /// Counts the connection in, unless a limit refuses it or the server is stopping.
    let admit (peer: IPAddress) =
        lock gate (fun () ->
            let n =
                match perAddress.TryGetValue peer with
                | true, n -> n
                | _ -> 0

            match Admission.connection maxTotal maxPerAddress admitted n with
            | _ when stopping -> None
            | Admission.Admitted ->
                perAddress[peer] <- n + 1
                admitted <- admitted + 1
                allGone.Reset()
                Some Admission.Admitted
            | refused -> Some refused)

    let accept () =
        let mutable go = true

        while go do
            try
                let client = socket.Accept()
                let peer = (client.RemoteEndPoint :?> IPEndPoint).Address

                match admit peer with
                | Some Admission.Admitted ->
                    settings.Session.Metrics.ConnectionAccepted()
                    let c = Connection(client, settings, ended)
                    lock gate (fun () -> live.Add c |> ignore)
                    c.Start()
                | verdict ->
                    match verdict with
                    | Some Admission.TooManyFromAddress ->
                        settings.Session.Metrics.Limited Limit.ConnectionsPerAddress
                        log.Warn("connection refused: too many from one address", [ "peer", box peer ])
                    | Some Admission.TooManyOnInstance ->
                        settings.Session.Metrics.Limited Limit.Connections
                        log.Warn("connection refused: too many connections", [ "peer", box peer; "max", box maxTotal ])
                    | _ -> ()

                    client.Dispose()
            with
            | :? SocketException
            | :? ObjectDisposedException when stopping -> go <- false
            | :? SocketException as e -> log.Warn("accept failed", [ "reason", box e.Message ])
            // One connection's trouble (it vanished before it was counted in, ...) must not end
            // the accept loop: its thread is the only one that takes new connections.
            | e -> log.Error("accept failed", [ "error", box e ])

    member _.Start() =
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true)
        socket.Bind(IPEndPoint(bind, port))
        socket.Listen 4096
        let thread = Thread(accept)
        thread.IsBackground <- true
        thread.Name <- "accept"
        thread.Start()

    member _.EndPoint = socket.LocalEndPoint :?> IPEndPoint

    member _.Connections = lock gate (fun () -> live.Count)

    /// Outbound lines queued: (summed over the connections, on the fullest one), for metrics.
    member _.OutboxDepths() : int * int =
        let current = lock gate (fun () -> List.ofSeq live)
        let depths = current |> List.map _.Pending
        List.sum depths, (if depths.IsEmpty then 0 else List.max depths)

    /// Stops accepting, tells every client, and waits (up to `timeout`) for their sessions to end.
    member _.Stop(text: string, timeout: TimeSpan) : bool =
        let current =
            lock gate (fun () ->
                stopping <- true
                List.ofSeq live)

        socket.Dispose()

        for c in current do
            c.Shutdown text

        allGone.Wait timeout
