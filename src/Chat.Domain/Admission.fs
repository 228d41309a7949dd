/// Abuse limits whose counts the shell keeps (per address, per instance, across instances): these
/// functions decide, given the counts, what is allowed and what a refusal answers.
module Chat.Domain.Admission

/// A new connection, given the connections open on this instance in all and from its address.
type ConnectionVerdict =
    | Admitted
    /// Past `--max-conns-per-address`.
    | TooManyFromAddress
    /// Past `--max-conns` (this instance's total).
    | TooManyOnInstance

/// Whether one more connection may open; a limit of 0 means no limit.
let connection (maxTotal: int) (maxPerAddress: int) (openTotal: int) (openFromAddress: int) =
    if maxTotal > 0 && openTotal >= maxTotal then
        TooManyOnInstance
    elif maxPerAddress > 0 && openFromAddress >= maxPerAddress then
        TooManyFromAddress
    else
        Admitted

/// REGISTER from an address that created `sofar` accounts in the current hour: None when it may
/// go ahead, else the answer. A limit of 0 means no limit.
let register (perHour: int) (sofar: int) : ServerMsg option =
    if perHour <= 0 || sofar < perHour then
        None
    else
        Some(Err(RateLimited, $"at most {perHour} new accounts an hour from one address; try again later"))
