package httpx

// MaxErrText bounds the server text quoted in an error (text.Snippet).
const MaxErrText = 300
