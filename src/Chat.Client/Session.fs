namespace Chat.Client

open System
open System.IO
open System.Threading
open System.Threading.Tasks
open Chat.Domain

/// Where a session's output goes: the console in line mode, the panes in the interactive client.
type Sink = {
    /// A server line to show.
    Show: string -> unit
    /// A status line (caught up, token refused, a reconnect attempt).
    Note: string -> unit
    /// Logged in again (or for the first time) and caught up, in this room.
    Ready: RoomName -> unit
    /// The connection dropped: waiting `wait` before attempt `attempt`, for `reason`.
    Retrying: string -> TimeSpan -> int -> unit
    /// Ends the process with this code and this last word; called once.
    Finish: int -> string -> unit
}

/// A session: a reader thread shows what the server sends, carries out the Flow's actions and, with `redial`,
/// reconnects when the connection drops; `Send` is for the user's lines. It ends the process itself (through
/// the sink), because a thread blocked on input cannot be woken when the session ends.
type Session
    (
        conn: TlsConnection,
        server: string,
        sink: Sink,
        user: Username option,
        relogin: string option,
        redial: Redial option
    ) =
    /// How long the server gets to answer everything sent before `/quit` and close the connection.
    static let quitWait = TimeSpan.FromSeconds 5.0
    static let interruptWait = TimeSpan.FromSeconds 2.0

    /// Our /quit (end of input, Ctrl-C): it decides the exit code.
    [<VolatileField>]
    let mutable quitSent = false

    /// A /quit typed by the user: no reconnect after it.
    [<VolatileField>]
    let mutable leaving = false

    [<VolatileField>]
    let mutable outcome = (ExitCode.Failed, "")

    let closed = new ManualResetEventSlim false
    let link = Link()

    let firstAnswer =
        TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)

    let exitLock = obj ()
    let mutable exiting = false

    /// Only the first caller exits; later ones (the other thread racing to the same end) wait to be torn down,
    /// so that one note is printed and the exit code is the first decision's.
    let finish (code: int, note: string) : 'a =
        let first =
            lock exitLock (fun () ->
                let was = exiting
                exiting <- true
                not was)

        if first then
            sink.Finish code note

        Thread.Sleep Timeout.Infinite
        exit code

    let send (conn: TlsConnection) (line: string) =
        try
            conn.Send line
            true
        with
        | :? IOException
        | :? ObjectDisposedException -> false

    let mutable last: ServerMsg option = None
    let mutable attempt = 0

    /// Carries out the actions in order; Some reason when the connection is to be dropped and tried again.
    let perform (conn: TlsConnection) (state: Flow.State) (actions: Flow.Action list) : string option =
        let mutable drop = None

        for action in actions do
            match action with
            | Flow.Show raw -> sink.Show raw
            // A send that fails is not reported here: the read fails too, and the ending is decided there.
            | Flow.Send line -> send conn line |> ignore
            | Flow.SendPasswordLogin ->
                match relogin with
                | Some line -> send conn line |> ignore
                | None -> finish (ExitCode.LoginRefused, "no password to log in again with")
            | Flow.Note text -> sink.Note text
            | Flow.Ready ->
                attempt <- 0
                sink.Ready state.Place.Room
                link.Open conn
                firstAnswer.TrySetResult true |> ignore
            | Flow.Refused ->
                if not (firstAnswer.TrySetResult false) then
                    finish (ExitCode.LoginRefused, $"logging in again to {server} was refused")
            | Flow.Retry reason -> drop <- Some reason

        drop

    /// Reads one connection to its end.
    let serve (conn: TlsConnection) (state: Flow.State) : Flow.State * ExitCode.Ending =
        let mutable state = state
        let mutable ending = None

        try
            while ending.IsNone do
                match conn.ReadLine() with
                | None -> ending <- Some ExitCode.Closed
                | Some raw ->
                    let msg = ServerLine.parse raw

                    if msg.IsSome then
                        last <- msg

                    let next, actions = Flow.onLine state raw msg
                    state <- next

                    match perform conn next actions with
                    | Some reason -> ending <- Some(ExitCode.Lost reason)
                    | None -> ()
        with
        | :? IOException
        | :? ObjectDisposedException as e -> ending <- Some(ExitCode.Lost e.Message)

        link.Shut conn
        (conn :> IDisposable).Dispose()
        state, ending.Value

    /// Backs off and connects until a connection is up; a refused certificate ends the process.
    let reconnect (redial: Redial) (reason: string) : TlsConnection =
        let mutable reason = reason
        let mutable next = None

        while next.IsNone do
            attempt <- attempt + 1
            let wait = Backoff.delay redial.Policy (Random.Shared.NextDouble()) attempt
            sink.Retrying reason wait attempt
            Thread.Sleep wait

            match redial.Connect() with
            | Result.Ok c -> next <- Some c
            | Result.Error e when Disconnect.isFatal e -> finish (ExitCode.Failed, redial.Explain e)
            | Result.Error e -> reason <- redial.Explain e

        next.Value

    let read () =
        let mutable conn = conn
        let mutable state = Flow.initial user

        while true do
            let after, ending = serve conn state
            state <- after
            let resumable = redial.IsSome && Flow.resumable state

            match Disconnect.decide server resumable leaving quitSent last ending, redial with
            | Disconnect.Reconnect, Some redial ->
                conn <- reconnect redial (ExitCode.note server ending)
                last <- None
                let again, actions = Flow.reconnected state
                state <- again
                perform conn again actions |> ignore
            | Disconnect.Exit(code, text), _ ->
                outcome <- (code, text)
                closed.Set()
                finish outcome
            | Disconnect.Reconnect, None -> finish (ExitCode.Failed, ExitCode.note server ending)

    /// Asks the server to end the session and gives it time to send what is still due.
    let quit (wait: TimeSpan) (codeIfNoClose: int) : 'a =
        quitSent <- true

        match link.Await wait with
        | Some conn ->
            send conn "/quit" |> ignore

            if closed.Wait wait then
                finish outcome
            else
                finish (codeIfNoClose, $"{server} did not close the connection within {int wait.TotalSeconds} s")
        | None -> finish (codeIfNoClose, $"not connected to {server} (waited {int wait.TotalSeconds} s)")

    static member QuitWait = quitWait
    static member InterruptWait = interruptWait

    /// Sends `login` first (a LOGIN or REGISTER line) when given, and waits for its answer so that nothing typed
    /// ahead is sent on a refused login.
    member _.Start(login: string option) =
        let reader = Thread(read, IsBackground = true, Name = "server-reader")
        reader.Start()

        match login with
        | Some line ->
            if not (send conn line) then
                // The reader sees the same broken connection and knows better what happened; let it decide.
                closed.Wait quitWait |> ignore
                finish (ExitCode.Failed, $"connection to {server} lost")
            elif not firstAnswer.Task.Result then
                finish (ExitCode.LoginRefused, "")
        | None -> link.Open conn

    /// One line of the user's: held while the connection is down, sent once the session is back and caught up.
    member _.Send(line: string) =
        match Protocol.parse line with
        | Some(Result.Ok Quit) -> leaving <- true
        | _ -> ()

        let mutable sent = false

        while not sent do
            match link.Await Timeout.InfiniteTimeSpan with
            | Some c ->
                sent <- send c line

                if not sent then
                    link.Shut c
            | None -> ()

    /// Asks the server to end the session, gives it `wait` to send what is still due, and ends the process.
    member _.Quit(wait: TimeSpan, codeIfNoClose: int) : 'a = quit wait codeIfNoClose
