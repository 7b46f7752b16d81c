namespace Reconstruct.Torch

/// Raised for every failure reported by the native side; the message names the operation
/// and what it received. Public, unlike the P/Invoke declarations (`Native`) that raise it.
exception NativeError of string
    with override this.Message = this.Data0
