namespace Chat.Client

open System
open System.Collections.Concurrent
open System.Runtime.InteropServices
open System.Threading
open Terminal.Gui.App
open Chat.Domain
open Chat.Client.ChatModel

/// The interactive client: the session's lines and status go to the model on the UI thread, keys go through
/// `ChatUpdate`, and its effects are carried out here (lines queued for the session, /quit). The UI thread owns
/// the model; the reader thread only posts to it.
type Tui
    (
        conn: TlsConnection,
        server: string,
        verifiedBy: string,
        user: Username option,
        relogin: string option,
        redial: Redial option,
        colour: bool,
        ascii: bool
    ) =
    /// How long a stop request gets before the process ends without the UI.
    static let stopWait = TimeSpan.FromSeconds 3.0

    let app = Application.Create().Init()

    let now () =
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()

    let mutable model =
        initial
            {
                Address = server
                Protocol = conn.Protocol
                VerifiedBy = verifiedBy
            }
            user
            colour
            ascii
            TimeZoneInfo.Local

    /// The user's lines, sent in order by one thread, which waits while the connection is down.
    let outbox = new BlockingCollection<string>()
    let quitAsked = new ManualResetEventSlim false
    // Set once the terminal is given back (the UI disposed).
    let released = new ManualResetEventSlim false
    let gate = obj ()
    let mutable uiGone = false
    let mutable decided: (int * string) option = None

    /// The last refusal shown: said again on stderr when it ends the session, since the screen is gone then.
    [<VolatileField>]
    let mutable lastError = ""

    let mutable leaving = false

    /// Once: the main thread and a stop that timed out may race here.
    let leave (code: int) (note: string) =
        let first =
            lock gate (fun () ->
                let was = leaving
                leaving <- true
                not was)

        if first then
            let note =
                if note = "" && code <> ExitCode.Done then
                    lastError
                else
                    note

            if note <> "" then
                Console.Error.WriteLine note

        else
            Thread.Sleep Timeout.Infinite

        exit code

    let screen = new TuiViews.ChatWindow((fun () -> model), colour)

    let dispatch (event: Event) =
        let next, effects = ChatUpdate.update event model
        model <- next

        for effect in effects do
            match effect with
            | Send line -> outbox.Add line
            | Quit -> quitAsked.Set()

        screen.Redraw()

    // Under the lock: the UI is not disposed between the check and the call.
    let post (event: Event) =
        lock gate (fun () ->
            if not uiGone then
                app.Invoke(fun () -> dispatch event))

    let sink = {
        Show =
            fun raw ->
                if raw.StartsWith("ERR ", StringComparison.Ordinal) then
                    lastError <- Render.line TimeZoneInfo.Local Render.Readable raw |> Option.defaultValue raw

                post (Line(raw, now ()))
        Note = fun text -> post (Note(text, now ()))
        Ready = fun room -> post (Ready room)
        Retrying = fun reason wait attempt -> post (Retrying(reason, wait, attempt, now ()))
        Finish =
            fun code note ->
                let gone =
                    lock gate (fun () ->
                        decided <- Some(code, note)

                        if not uiGone then
                            app.Invoke(fun () -> app.RequestStop())

                        uiGone)

                if not gone then
                    // The main thread leaves once the terminal is given back; a UI loop that cannot
                    // stop (its terminal gone) must not keep the process: it ends anyway.
                    released.Wait stopWait |> ignore

                leave code note
    }

    let session = Session(conn, server, sink, user, relogin, redial)

    let background (name: string) (body: unit -> unit) =
        Thread(body, IsBackground = true, Name = name).Start()

    /// Runs the UI until the session ends; never returns.
    member _.Run(login: string option) : 'a =
        app.Keyboard.KeyDown.Add(fun k ->
            TuiViews.key k |> Option.iter (Pressed >> dispatch)
            // Every key is the input line's: none may reach a default binding (Esc quits, Tab moves the focus).
            k.Handled <- true)

        screen.FrameChanged.Add(fun _ ->
            let size = app.Screen
            screen.Layout size.Width
            dispatch (Resized(size.Width, size.Height)))

        app.AddTimeout(
            TimeSpan.FromMilliseconds 250.0,
            fun () ->
                dispatch (Tick(now ()))
                true
        )
        |> ignore

        Console.CancelKeyPress.Add(fun e ->
            e.Cancel <- true
            quitAsked.Set())

        // A polite kill leaves as /quit does, the terminal given back. (A closed terminal, SIGHUP, keeps its
        // default: there is no terminal left to give back.)
        use _terminate =
            PosixSignalRegistration.Create(
                PosixSignal.SIGTERM,
                fun context ->
                    context.Cancel <- true
                    quitAsked.Set()
            )

        screen.Layout app.Screen.Width
        dispatch (Resized(app.Screen.Width, app.Screen.Height))
        screen.Focus()

        background "session-start" (fun () ->
            session.Start login

            if user.IsNone then
                post Opened)

        background "user-lines" (fun () ->
            for line in outbox.GetConsumingEnumerable() do
                session.Send line)

        background "quit" (fun () ->
            quitAsked.Wait()
            session.Quit(Session.InterruptWait, ExitCode.Done))

        app.Run screen |> ignore

        let outcome =
            lock gate (fun () ->
                uiGone <- true
                decided)
        // Restores the terminal: the main screen, the cursor, cooked mode.
        app.Dispose()
        released.Set()

        match outcome with
        | Some(code, note) -> leave code note
        | None ->
            // The UI stopped by itself: leave as after /quit.
            session.Quit(Session.InterruptWait, ExitCode.Done)
