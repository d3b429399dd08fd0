package agent

import (
	"context"
	"errors"

	"picoclaw"
)

// apology returns a short name for the kind of a model failure (for logs)
// and the bilingual apology sent to the chat in place of an answer.
func apology(err error) (kind, text string) {
	var rl *picoclaw.RateLimitError
	switch {
	case errors.As(err, &rl):
		return "rate_limit", "抱歉，模型服务繁忙（请求过于频繁），请稍后再试。Sorry, the model is busy right now (rate limited); please try again later."
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", "抱歉，处理超时，已停止，请稍后再试。Sorry, answering this took too long and was stopped; please try again later."
	case errors.Is(err, picoclaw.ErrAuth):
		return "auth", "抱歉，模型服务认证或配置有误，请联系管理员检查配置。Sorry, the model service rejected our credentials or is misconfigured; please ask the administrator."
	case errors.Is(err, picoclaw.ErrContextLength):
		return "context_length", "抱歉，对话太长，超出了模型的处理能力，请开始新的对话。Sorry, this conversation is too long for the model; please start a new one."
	case errors.Is(err, picoclaw.ErrTemporary):
		return "temporary", "抱歉，模型服务暂时不可用，请稍后再试。Sorry, the model service is temporarily unavailable; please try again later."
	case errors.Is(err, context.Canceled):
		return "canceled", "抱歉，服务正在停止，这条消息没能回答，请稍后再发一次。Sorry, the assistant is shutting down; please send this again later."
	default:
		return "other", "抱歉，模型暂时无法回答，请稍后再试。Sorry, the model could not answer right now."
	}
}
