namespace Chat.Client

open System
open Chat.Domain

/// Line editing for a prompt that shows nothing, kept pure so that keys can be tested without a console.
module PasswordEdit =
    type Step =
        | Typing of string
        | Done of string
        | GaveUp

    let private dropLast (s: string) =
        if s = "" then
            s
        elif s.Length >= 2 && Char.IsSurrogatePair(s[s.Length - 2], s[s.Length - 1]) then
            s.Substring(0, s.Length - 2)
        else
            s.Substring(0, s.Length - 1)

    let apply (typed: string) (key: ConsoleKeyInfo) : Step =
        let ctrl = key.Modifiers.HasFlag ConsoleModifiers.Control

        match key.Key, key.KeyChar with
        | ConsoleKey.Enter, _
        | _, '\r'
        | _, '\n' -> Done typed
        | ConsoleKey.Backspace, _
        | _, '\b'
        | _, '\u007f' -> Typing(dropLast typed)
        // Ctrl-U: start over, as in a shell, since the user cannot see what went wrong.
        | ConsoleKey.U, _ when ctrl -> Typing ""
        | _, '\u0015' -> Typing ""
        // Ctrl-D on an empty prompt: end of input, as everywhere else on a terminal.
        | ConsoleKey.D, _ when ctrl && typed = "" -> GaveUp
        | _, '\u0004' when typed = "" -> GaveUp
        | _, c when Char.IsControl c || c = '\000' -> Typing typed
        | _, c -> Typing(typed + string c)

/// Where the password for `--user` comes from.
type PasswordPrompt private () =
    /// Reads keys without echo, so neither the password nor its length shows on screen.
    static member Read(prompt: string) : string option =
        Console.Error.Write prompt

        let rec loop typed =
            match PasswordEdit.apply typed (Console.ReadKey true) with
            | PasswordEdit.Typing t -> loop t
            | PasswordEdit.Done t -> Some t
            | PasswordEdit.GaveUp -> None

        let result = loop ""
        Console.Error.WriteLine()
        result

    /// CHAT_PASSWORD, else a prompt at a terminal, else the first line of stdin (the rest is the session).
    static member Obtain(user: Username) : string option =
        match Environment.GetEnvironmentVariable "CHAT_PASSWORD" with
        | null
        | "" ->
            if Console.IsInputRedirected then
                Console.In.ReadLine() |> Option.ofObj
            else
                PasswordPrompt.Read $"password for {Username.value user}: "
        | password -> Some password
