/// The Terminal.Gui side of the panes: views that paint the rows `Screen` computes, the keys translated for
/// `ChatUpdate`, and the styles as terminal attributes.
module Chat.Client.TuiViews

open System
open System.Drawing
open Terminal.Gui.Drawing
open Terminal.Gui.Drivers
open Terminal.Gui.ViewBase
open Terminal.Gui.Views
open Chat.Client.ChatModel
open Chat.Client.Panes

/// The sender colours, in `Panes.colourOf` order: legible on dark and light backgrounds alike.
let private palette = [|
    ColorName16.Cyan
    ColorName16.Green
    ColorName16.Magenta
    ColorName16.Yellow
    ColorName16.BrightBlue
    ColorName16.BrightRed
|]

// Terminal.Gui takes these by `in` reference.
let private make (fg: Color) (bg: Color) (style: TextStyle) = Attribute(&fg, &bg, &style)

let attribute (colour: bool) (normal: Attribute) (style: Style) : Attribute =
    let fg (c: ColorName16) =
        if colour then
            make (Color(&c)) normal.Background normal.Style
        else
            normal

    let styled (s: TextStyle) =
        make normal.Foreground normal.Background (normal.Style ||| s)

    match style with
    | Plain -> normal
    | Dim -> if colour then fg ColorName16.DarkGray else normal
    | Bold -> styled TextStyle.Bold
    | Alert ->
        if colour then
            fg ColorName16.BrightRed
        else
            styled TextStyle.Bold
    | Sender i -> fg palette[i % palette.Length]
    | Bar -> styled TextStyle.Reverse

/// Paints the rows `rows width height` gives for its size; redrawn whenever the model changes.
type RowsView(rows: int -> int -> Row list, colour: bool) as this =
    inherit View()
    do this.CanFocus <- false

    member _.Paint(row: int, segments: Row) =
        let normal = this.GetAttributeForRole VisualRole.Normal
        this.Move(0, row) |> ignore

        for s in segments do
            this.SetAttribute(attribute colour normal s.Style) |> ignore
            this.AddStr s.Text

    override this.OnDrawingContent(_context: DrawContext) =
        let size = this.Viewport.Size
        rows size.Width size.Height |> List.iteri (fun i r -> this.Paint(i, r))
        true

/// The input line: painted from the model, the terminal cursor put where the model's is.
type InputView(line: int -> Row * int, colour: bool) as this =
    inherit RowsView((fun w _ -> [ fst (line w) ]), colour)
    do this.CanFocus <- true

    override this.OnDrawingContent(context: DrawContext) =
        base.OnDrawingContent context |> ignore
        let _, column = line this.Viewport.Width
        let local = Point(column, 0)
        let at = this.ViewportToScreen(&local)
        this.Cursor <- Cursor(Position = Nullable at, Style = CursorStyle.SteadyBar)
        true

/// The screen: the message pane and the side panel beside it, the status line, the input line at the bottom.
type ChatWindow(model: unit -> Model, colour: bool) as this =
    inherit Window(BorderStyle = Nullable LineStyle.None)
    let messages = new RowsView((fun w h -> Screen.messages (model ()) w h), colour)
    let side = new RowsView((fun w h -> Screen.side (model ()) w h), colour)
    let status = new RowsView((fun w _ -> [ Screen.status (model ()) w ]), colour)
    let input = new InputView((fun w -> Screen.input (model ()) w), colour)

    do
        messages.X <- Pos.Absolute 0
        messages.Y <- Pos.Absolute 0
        messages.Height <- Dim.Fill(Dim.Absolute 2)
        side.Y <- Pos.Absolute 0
        side.Height <- Dim.Fill(Dim.Absolute 2)
        status.X <- Pos.Absolute 0
        status.Y <- Pos.AnchorEnd 2
        status.Width <- Dim.Fill()
        status.Height <- Dim.Absolute 1
        input.X <- Pos.Absolute 0
        input.Y <- Pos.AnchorEnd 1
        input.Width <- Dim.Fill()
        input.Height <- Dim.Absolute 1
        this.Add(messages, side, status, input) |> ignore

    /// The side panel's width for a terminal `width` wide (none when it is narrow).
    member _.Layout(width: int) =
        let sw = Panes.sideWidth width
        messages.Width <- Dim.Fill(Dim.Absolute sw)
        side.Visible <- sw > 0
        side.Width <- Dim.Absolute(max 1 sw)
        side.X <- Pos.AnchorEnd(max 1 sw)

    member _.Redraw() =
        for v in [ messages :> View; side; status; input ] do
            v.SetNeedsDraw()

    member _.Focus() = input.SetFocus() |> ignore

/// A terminal key as the model's, or None for one it does not use.
let key (k: Terminal.Gui.Input.Key) : Key option =
    let code =
        k.KeyCode &&& ~~~(KeyCode.CtrlMask ||| KeyCode.AltMask ||| KeyCode.ShiftMask)

    if k.IsCtrl && not k.IsAlt then
        match code with
        | KeyCode.C -> Some Interrupt
        | KeyCode.A -> Some Home
        | KeyCode.E -> Some End
        | KeyCode.B -> Some Left
        | KeyCode.F -> Some Right
        | KeyCode.H -> Some Backspace
        | KeyCode.D -> Some Delete
        | KeyCode.U -> Some KillToStart
        | KeyCode.K -> Some KillToEnd
        | KeyCode.W -> Some KillWord
        | KeyCode.N -> Some NextView
        | KeyCode.P -> Some PrevView
        | _ -> None
    else
        match code with
        | KeyCode.Enter -> Some Enter
        | KeyCode.Backspace -> Some Backspace
        | KeyCode.Delete -> Some Delete
        | KeyCode.CursorLeft -> Some Left
        | KeyCode.CursorRight -> Some Right
        | KeyCode.CursorUp -> Some Up
        | KeyCode.CursorDown -> Some Down
        | KeyCode.Home -> Some Home
        | KeyCode.End -> Some End
        | KeyCode.Tab -> Some Tab
        | KeyCode.PageUp -> Some PageUp
        | KeyCode.PageDown -> Some PageDown
        | _ ->
            match k.TryGetPrintableRune() with
            | true, r -> Some(Text(r.ToString()))
            | _ -> None
