namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.IO
open System.Net.Sockets
open System.Security.Cryptography
open System.Threading
open Expecto
open Chat.Testing
open Chat.Domain

/// Reading server lines in assertions.
module Lines =
    /// The fields of a `MSG <room> <id> <from> <text>` line.
    let msg (line: string) =
        match ServerLine.parse line with
        | Some(Msg(room, id, from, text)) -> RoomName.value room, MsgId.value id, Username.value from, text
        | _ -> failwith $"not a MSG line: {line}"

    /// The fields of a `PUB <id> <from> <text>` line.
    let pub (line: string) =
        match ServerLine.parse line with
        | Some(Pub(id, from, text)) -> MsgId.value id, Username.value from, text
        | _ -> failwith $"not a PUB line: {line}"

    /// The fields of a `HIST <room> <id> <from> <unix-ms> <text>` line.
    let hist (line: string) =
        match ServerLine.parse line with
        | Some(Hist(room, id, from, ms, text)) -> RoomName.value room, MsgId.value id, Username.value from, ms, text
        | _ -> failwith $"not a HIST line: {line}"

    /// `OK PUBLISH <id> <n>`.
    let published (line: string) =
        match ServerLine.parse line with
        | Some(Ok(Published(id, n))) -> MsgId.value id, n
        | _ -> failwith $"not an OK PUBLISH line: {line}"

    /// The words after `OK <VERB>`.
    let items (verb: string) (line: string) =
        let head = $"OK {verb}"

        if line = head then
            []
        elif line.StartsWith(head + " ", StringComparison.Ordinal) then
            line.Substring(head.Length + 1).Split(' ') |> List.ofArray
        else
            failwith $"not an {head} line: {line}"

    let isMsgFrom (user: string) (line: string) =
        line.StartsWith "MSG "
        && (match ServerLine.parse line with
            | Some(Msg(_, _, u, _)) -> Username.value u = user
            | _ -> false)

    let isPubFrom (user: string) (line: string) =
        line.StartsWith "PUB "
        && (match ServerLine.parse line with
            | Some(Pub(_, u, _)) -> Username.value u = user
            | _ -> false)

    let isOrdinalSorted (xs: string list) =
        xs
        |> List.pairwise
        |> List.forall (fun (a, b) -> String.CompareOrdinal(a, b) < 0)

/// Raw sockets, below TLS.
module Raw =
    let connect (port: int) =
        let tcp = new TcpClient()
        tcp.Connect("127.0.0.1", port)
        tcp.ReceiveTimeout <- 10_000
        tcp

    /// Everything the server sends until it closes: (bytes, `closed`, error). `closed` is false when
    /// the connection was still open after the read timeout; a reset counts as closed, with its error.
    let readStreamToEnd (stream: Stream) =
        let received = new MemoryStream()
        let buffer = Array.zeroCreate<byte> 4096
        let mutable result = None

        while result.IsNone do
            try
                match stream.Read(buffer, 0, buffer.Length) with
                | 0 -> result <- Some(true, "")
                | n -> received.Write(buffer, 0, n)
            with :? IOException as e when (e.InnerException :? SocketException) ->
                let code = (e.InnerException :?> SocketException).SocketErrorCode
                result <- Some(code <> SocketError.TimedOut, string code)

        received.ToArray(), fst result.Value, snd result.Value

    let readToEnd (tcp: TcpClient) = readStreamToEnd (tcp.GetStream())

    /// A TLS ClientHello that offers only `version` (0x0301 TLS 1.0, 0x0302 TLS 1.1), with
    /// ECDHE/RSA CBC suites and no supported_versions extension.
    let clientHello (version: int) =
        let u16 (n: int) = [ byte (n >>> 8); byte n ]
        let suites = [ 0xc013; 0xc014; 0xc009; 0xc00a; 0x002f; 0x0035 ] |> List.collect u16
        let groups = [ 0x001d; 0x0017; 0x0018 ] |> List.collect u16

        let extensions =
            (u16 0x000a @ u16 (groups.Length + 2) @ u16 groups.Length @ groups) // supported_groups
            @ (u16 0x000b @ u16 2 @ [ 1uy; 0uy ]) // ec_point_formats: uncompressed

        let body =
            u16 version
            @ List.ofArray (RandomNumberGenerator.GetBytes 32)
            @ [ 0uy ] // session id
            @ u16 suites.Length
            @ suites
            @ [ 1uy; 0uy ] // compression: null
            @ u16 extensions.Length
            @ extensions

        let handshake = [ 1uy; 0uy ] @ u16 body.Length @ body
        [ 0x16uy; 0x03uy; 0x01uy ] @ u16 handshake.Length @ handshake |> Array.ofList

/// Counts the bytes written through it: did the local TLS stack send anything at all?
type CountingStream(inner: Stream) =
    inherit Stream()
    member val Written = 0L with get, set
    override _.CanRead = inner.CanRead
    override _.CanSeek = false
    override _.CanWrite = inner.CanWrite
    override _.Length = raise (NotSupportedException())

    override _.Position
        with get () = raise (NotSupportedException())
        and set (_: int64) = raise (NotSupportedException())

    override _.Flush() = inner.Flush()
    override _.Read(buffer: byte array, offset: int, count: int) = inner.Read(buffer, offset, count)
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())

    override this.Write(buffer: byte array, offset: int, count: int) =
        this.Written <- this.Written + int64 count
        inner.Write(buffer, offset, count)

/// One server for the tests of a list, started once with the list's flags; the clients a test
/// opens through it are closed after the test, and every line they received must be a well-formed
/// chat/1 line (see `Harness.run`).
type ServerFixture(flags: string list) =
    static let password = "pass-word-123"
    let server = ServerProcess.Start flags
    let clients = List<LineClient>()
    let mutable counter = 0

    /// A password every REGISTER of these tests uses (long enough for any --min-password they set).
    static member Password = password

    member _.Server = server

    /// A unique name (username or room) for this test run: `<prefix><n>`.
    member _.Name(prefix: string) =
        $"{prefix}{Interlocked.Increment &counter}"

    /// A TLS client of this fixture's server, closed after the test.
    member this.Connect(?name: string, ?receiveBuffer: int) =
        this.ConnectTo(server, defaultArg name "client", ?receiveBuffer = receiveBuffer)

    /// A TLS client of any server, closed after the test.
    member _.ConnectTo(target: ServerProcess, name: string, ?receiveBuffer: int) =
        let c =
            LineClient.Connect(target.Port, target.CertFile, name, ?receiveBuffer = receiveBuffer)

        lock clients (fun () -> clients.Add c)
        c

    /// A new account, registered and logged in (in the lobby): the client and the user name.
    member this.User(prefix: string) =
        let name = this.Name prefix
        let c = this.Connect name
        c.Register(name, password)
        c, name

    /// A new account, logged in and moved to `room`.
    member this.UserIn(prefix: string, room: string) =
        let c, name = this.User prefix
        let reply = c.Command $"/join {room}"

        if reply <> $"OK JOIN {room}" then
            failtest $"/join {room}: {reply}\n{c.Describe()}"

        c, name

    interface ITestScope with
        member _.EndTest() =
            let all = lock clients (fun () -> List.ofSeq clients)

            let malformed = [
                for c in all do
                    for line in c.Received do
                        if (ServerLine.parse line).IsNone then
                            $"[{c.Name}] {line}"
            ]

            for c in all do
                (c :> IDisposable).Dispose()

            lock clients (fun () -> clients.Clear())
            malformed

        member _.Diagnostics() =
            $"server output:\n{server.OutputText 80}"

    interface IDisposable with
        member _.Dispose() =
            for c in lock clients (fun () -> List.ofSeq clients) do
                (c :> IDisposable).Dispose()

            (server :> IDisposable).Dispose()

module ServerSuite =
    /// The tests of `cases` in sequence, on one server started with `flags` for them all.
    let tests (name: string) (flags: string list) (cases: Case<ServerFixture> list) =
        Harness.shared name (fun () -> new ServerFixture(flags)) cases
