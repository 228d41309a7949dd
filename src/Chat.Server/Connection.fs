namespace Chat.Server

open System
open System.IO
open System.Net
open System.Net.Security
open System.Net.Sockets
open System.Security.Authentication
open System.Text
open System.Threading
open System.Threading.Tasks
open Chat.Domain

/// What every connection of this server shares.
type ConnectionSettings = {
    Tls: SslServerAuthenticationOptions
    ServerId: string
    HandshakeTimeout: TimeSpan
    LoginTimeout: TimeSpan
    MaxLine: int
    SendQueue: int
    Session: SessionContext
}

module private Tls =
    /// The first byte of every TLS connection: a handshake record.
    [<Literal>]
    let HandshakeRecord = 0x16uy

    let refusal =
        Encoding.ASCII.GetBytes "ERR TLS_REQUIRED this server accepts TLS connections only\n"

    /// Authenticated encryption only: every TLS 1.3 suite, and GCM, CCM or ChaCha20-Poly1305 under
    /// TLS 1.2. A backstop: the handshake already refuses everything else (OpenSSL's configuration,
    /// TlsPolicy, checked at startup), so this should never fire; if the configuration were ever
    /// lost, a connection on another suite is still closed before any line is exchanged.
    let isAead (suite: TlsCipherSuite) =
        let name = string suite

        name.Contains "_GCM_"
        || name.Contains "_CCM"
        || name.Contains "_CHACHA20_POLY1305_"

/// One client. Its own dedicated thread does the handshake, then reads, decides and interprets
/// one line at a time (blocking reads); its outbox writes. A crash here ends this session only.
type Connection(socket: Socket, settings: ConnectionSettings, ended: Connection -> unit) as this =
    let log = settings.Session.Log
    let metrics = settings.Session.Metrics
    let peer = (socket.RemoteEndPoint :?> IPEndPoint).Address
    let sid = SessionId.tryCreate (Guid.NewGuid().ToString "N") |> Option.get
    let mutable outbox: Outbox option = None
    let mutable stream: SslStream = null

    [<VolatileField>]
    let mutable loggedIn = false

    let dispose () = socket.Dispose()

    // Close politely once everything queued is written (TLS close_notify, then FIN); a peer that
    // keeps the connection open after that is cut off.
    let closeAfter (how: OutboxEnd) =
        match how with
        | Broken -> dispose ()
        | Drained ->
            task {
                try
                    do! stream.ShutdownAsync()
                    socket.Shutdown SocketShutdown.Send
                with
                | :? IOException
                | :? SocketException
                | :? ObjectDisposedException
                | :? InvalidOperationException -> ()

                do! Task.Delay(TimeSpan.FromSeconds 2.0)
                dispose ()
            }
            |> ignore

    /// The first byte decides: TLS goes on, anything else gets one plaintext line and is closed.
    let speaksTls (deadline: CancellationToken) =
        task {
            let first = Array.zeroCreate<byte> 1
            let! n = socket.ReceiveAsync(first.AsMemory(), SocketFlags.Peek, deadline)

            if n = 0 then
                metrics.HandshakeFailed HandshakeFailure.Closed
                return false
            elif first[0] <> Tls.HandshakeRecord then
                metrics.HandshakeFailed HandshakeFailure.Plaintext
                socket.Send Tls.refusal |> ignore
                socket.Shutdown SocketShutdown.Send
                log.Info("plaintext refused", [ "peer", box peer ])
                return false
            else
                return true
        }

    /// Sniffing and the handshake are asynchronous, before the session's thread exists: that
    /// thread's stack then holds only what reading needs, which keeps idle connections small.
    let handshake () : Task<SslStream option> =
        task {
            socket.NoDelay <- true
            use deadline = new CancellationTokenSource(settings.HandshakeTimeout)
            let! tls = speaksTls deadline.Token

            if tls then
                let ssl = new SslStream(new NetworkStream(socket, true), false)
                stream <- ssl
                do! ssl.AuthenticateAsServerAsync(settings.Tls, deadline.Token)

                if Tls.isAead ssl.NegotiatedCipherSuite then
                    TlsBuffers.releaseWhenIdle ssl |> ignore
                    return Some ssl
                else
                    metrics.HandshakeFailed HandshakeFailure.Cipher
                    log.Info("cipher suite refused", [ "peer", box peer; "suite", box ssl.NegotiatedCipherSuite ])
                    return None
            else
                return None
        }

    let failed (e: exn) =
        match e with
        | :? IOException
        | :? SocketException
        | :? ObjectDisposedException
        | :? OperationCanceledException
        | :? AuthenticationException -> log.Debug("connection ended", [ "peer", box peer; "reason", box e.Message ])
        | e -> log.Error("session crashed", [ "peer", box peer; "error", box e ])

    let cleanup () =
        match outbox with
        | Some box -> box.Close()
        | None -> dispose ()

        ended this

    let serve (ssl: SslStream) (box: Outbox) =
        let interpreter = Interpreter(settings.Session, sid, string peer, box)
        let reader = LineReader(ssl, settings.MaxLine)
        let mutable state = Session.initial
        let mutable reading = true

        use _loginTimer =
            new Timer(
                (fun _ ->
                    // A timer callback that throws would end the process.
                    try
                        if not loggedIn then
                            box.SendLast(
                                Err(LoginTimeout, $"no login within {settings.LoginTimeout.TotalSeconds} s; closing")
                            )
                    with e ->
                        log.Error("login timeout failed", [ "peer", peer :> obj; "error", e :> obj ])),
                null,
                settings.LoginTimeout,
                Timeout.InfiniteTimeSpan
            )

        try
            while reading do
                match reader.Read() with
                | EndOfStream -> reading <- false
                | Line(Error e) -> box.Send(Framing.reply e)
                | Line(Result.Ok text) ->
                    match Protocol.parse text with
                    | None -> ()
                    | Some parsed ->
                        metrics.Command parsed

                        let next, effects =
                            Decide.decide settings.Session.Limits (settings.Session.Now()) state parsed

                        state <- interpreter.Run(next, effects)

                        loggedIn <-
                            (match state with
                             | Active _ -> true
                             | _ -> false)

                        reading <- not interpreter.Closing

                // Before the next read can block: the messages held for one write go out.
                if not reader.HasLine then
                    interpreter.Flush()
        finally
            interpreter.Release state

    let run (ssl: SslStream) () =
        try
            try
                let box = Outbox(ssl, settings.SendQueue, metrics, closeAfter)
                outbox <- Some box
                box.Send(Hello(settings.ServerId, "welcome; LOGIN <user> <password> or REGISTER <user> <password>"))
                serve ssl box
            with e ->
                failed e
        finally
            cleanup ()

    member _.Peer = peer

    /// Outbound lines queued, 0 before the session started.
    member _.Pending =
        match outbox with
        | Some box -> box.Pending
        | None -> 0

    /// Handshakes, then gives the session its own thread.
    member _.Start() =
        task {
            let! opened =
                task {
                    try
                        return! handshake ()
                    with e ->
                        metrics.HandshakeFailed(
                            match e with
                            | :? OperationCanceledException -> HandshakeFailure.Timeout
                            | :? AuthenticationException -> HandshakeFailure.Tls
                            | :? IOException
                            | :? SocketException
                            | :? ObjectDisposedException -> HandshakeFailure.Closed
                            | _ -> HandshakeFailure.Tls
                        )

                        failed e
                        return None
                }

            match opened with
            | Some ssl ->
                let thread = Thread(run ssl, 256 * 1024)
                thread.IsBackground <- true
                thread.Name <- "client"
                thread.Start()
            | None -> cleanup ()
        }
        |> ignore

    /// Server shutdown: tell the client, then close.
    member _.Shutdown(text: string) =
        match outbox with
        | Some box -> box.SendLast(Sys(Shutdown text))
        | None -> dispose ()
