namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Sockets
open System.Text
open System.Threading
open System.Threading.Tasks
open Expecto
open Chat.Testing

/// How a room message was answered: its MSG came back; ERR UNAVAILABLE, not sent; ERR
/// UNAVAILABLE saying it may have been sent.
[<RequireQualifiedAccess>]
type Said =
    | Acked
    | Refused
    | Unsure

/// Waiting, asserting and reading lines in the cluster tests.
module ClusterTesting =
    /// The replies of `/users`, as a list.
    let users (c: LineClient) =
        Lines.items "USERS" (c.Command "/users")

    /// Sends `/users` until `condition` holds on the list (ERR UNAVAILABLE counts as not yet).
    let waitUsers (c: LineClient) (timeout: TimeSpan) (what: string) (condition: string list -> bool) =
        Poll.until timeout what (fun () ->
            let reply = c.Command "/users"
            reply.StartsWith "OK USERS" && condition (Lines.items "USERS" reply))

    /// Sends room messages `probe-<n>` until one comes back as MSG; no reconnecting.
    let waitService (c: LineClient) (user: string) (timeout: TimeSpan) =
        let clock = Stopwatch.StartNew()
        let mutable ok = false

        while not ok do
            if clock.Elapsed > timeout then
                failtest $"no room message came back within {timeout.TotalSeconds} s\n{c.Describe()}"

            let text = $"probe-{Guid.NewGuid():N}"
            c.Send text
            // A probe Redis took comes back, even if the bus is still catching up.
            let left = max (TimeSpan.FromSeconds 1.0) (timeout - clock.Elapsed)

            let line =
                c.ExpectMatch(
                    (fun l -> l.StartsWith "ERR " || (Lines.isMsgFrom user l && l.EndsWith(" " + text))),
                    $"the probe {text} back, or an ERR",
                    left
                )

            if line.StartsWith "MSG " then
                ok <- true
            else
                Thread.Sleep 200 // polling back-off: ERR UNAVAILABLE comes at once while Redis is away

        clock.Elapsed

    /// Sends `<tag>-<k>` as a room message and waits for its MSG back or an ERR reply: Acked,
    /// Refused (ERR UNAVAILABLE, not sent), or Unsure (ERR UNAVAILABLE saying it may have been
    /// sent: Redis went away while the message was on its way).
    let sayOutcome (c: LineClient) (user: string) (tag: string) (k: int) (timeout: TimeSpan) =
        let text = $"{tag}-{k}"
        c.Send text

        let line =
            c.ExpectMatch(
                (fun l -> l.StartsWith "ERR " || (Lines.isMsgFrom user l && l.EndsWith(" " + text))),
                $"MSG {text} or an ERR",
                timeout
            )

        if line.StartsWith "ERR " then
            Expect.stringStarts line "ERR UNAVAILABLE " (c.Describe())

            if line.EndsWith "it may have been sent" then
                Said.Unsure
            else
                Said.Refused
        else
            Said.Acked

    /// `sayOutcome`: true when the MSG came back.
    let say (c: LineClient) (user: string) (tag: string) (k: int) (timeout: TimeSpan) =
        sayOutcome c user tag k timeout = Said.Acked

    /// The numbers k of the `<tag>-<k>` room messages from `user` this client received, in order.
    let numbered (c: LineClient) (user: string) (tag: string) =
        c.Received
        |> List.filter (Lines.isMsgFrom user)
        |> List.map (fun l ->
            let _, _, _, text = Lines.msg l
            text)
        |> List.filter (fun t -> t.StartsWith(tag + "-", StringComparison.Ordinal))
        |> List.map (fun t -> int (t.Substring(tag.Length + 1)))

    let private msgText user line =
        if Lines.isMsgFrom user line then
            let _, _, _, text = Lines.msg line
            Some text
        else
            None

    let private pubText user line =
        if Lines.isPubFrom user line then
            let _, _, text = Lines.pub line
            Some text
        else
            None

    /// The texts of `user`'s MSG and PUB lines this client received, in order.
    let linesFrom (c: LineClient) (user: string) =
        c.Received
        |> List.choose (fun l -> msgText user l |> Option.orElse (pubText user l))

    /// The texts of `user`'s MSG lines this client received, in order (one room's stream).
    let msgsFrom (c: LineClient) (user: string) =
        c.Received |> List.choose (msgText user)

    /// The texts of `user`'s PUB lines this client received, in order (the publisher's stream).
    let pubsFrom (c: LineClient) (user: string) =
        c.Received |> List.choose (pubText user)

    /// Waits (up to `timeout`) for as many of `user`'s lines (as `linesFrom` picks them) as
    /// `expected` holds, then checks they are exactly `expected`: none missing, none twice, in order.
    let rec expectFrom (c: LineClient) (user: string) (expected: string list) (timeout: TimeSpan) =
        expectFromBy linesFrom c user expected timeout

    and expectFromBy linesFrom (c: LineClient) (user: string) (expected: string list) (timeout: TimeSpan) =
        try
            Poll.until timeout $"{c.Name}: {expected.Length} lines from {user}" (fun () ->
                (linesFrom c user).Length >= expected.Length)
        with :? TimeoutException ->
            () // reported below, with what is missing

        c.Sync()
        let actual = linesFrom c user

        if actual <> expected then
            let got = set actual
            let missing = expected |> List.filter (got.Contains >> not)
            let twice = actual |> List.countBy id |> List.filter (snd >> (<) 1) |> List.map fst
            let unexpected = actual |> List.filter (fun a -> not (List.contains a expected))

            let pairs =
                List.zip (List.truncate actual.Length expected) (List.truncate expected.Length actual)

            let firstDiff = pairs |> List.tryFindIndex (fun (e, a) -> e <> a)

            let show (xs: string list) =
                String.concat " " (List.truncate 20 xs)
                + (if xs.Length > 20 then " ..." else "")

            failtest (
                $"{c.Name}: {user}'s lines: expected {expected.Length}, got {actual.Length}; "
                + $"missing {missing.Length}: [{show missing}]; twice: [{show twice}]; "
                + $"unexpected: [{show unexpected}]; first difference at index {firstDiff}: "
                + (match firstDiff with
                   | Some i ->
                       let around (xs: string list) =
                           xs |> List.skip (max 0 (i - 3)) |> List.truncate 8 |> String.concat " "

                       $"expected [{around expected}], got [{around actual}]"
                   | None -> "")
            )

    /// `expectFrom`, where the lines in `unsure` (their sender was told they may have been sent)
    /// may be there or not: at most once each, and where they were said (`order` ranks a line).
    let expectFromUnsure
        (c: LineClient)
        (user: string)
        (expected: string list)
        (unsure: string list)
        (order: string -> int)
        (timeout: TimeSpan)
        =
        let maybe = set unsure

        let sure c u =
            linesFrom c u |> List.filter (maybe.Contains >> not)

        expectFromBy sure c user expected timeout
        let actual = linesFrom c user

        match actual |> List.pairwise |> List.tryFind (fun (a, b) -> order a >= order b) with
        | Some(a, b) -> failtest $"{c.Name}: {user}'s line {b} came after {a} (twice, or out of order), in {actual}"
        | None -> ()

    /// In order and once: strictly increasing.
    let assertIncreasing (what: string) (ks: int list) =
        match ks |> List.pairwise |> List.tryFind (fun (a, b) -> a >= b) with
        | Some(a, b) -> failtest $"{what}: {b} came after {a}, in {ks}"
        | None -> ()
