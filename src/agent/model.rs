//! The model behind a small trait: OpenAI-compatible chat completions through async-openai in
//! production, and a scripted model for tests and benchmarks. The trait speaks okta-agent's own
//! message types so the loop never depends on one provider's wire shapes.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{ChatCompletionMessageToolCalls, CreateChatCompletionRequest};
use async_trait::async_trait;
use serde_json::{json, Value};

/// One message of the conversation sent to the model.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatMessage {
    System(String),
    User(String),
    Assistant {
        content: Option<String>,
        tool_calls: Vec<ToolCallRequest>,
    },
    Tool {
        call_id: String,
        content: String,
    },
}

/// A tool call as the model sent it: the arguments are still an unchecked JSON string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCallRequest {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// What the model answered.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelReply {
    Text(String),
    ToolCalls(Vec<ToolCallRequest>),
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ModelError {
    #[error("the language model could not be reached ({0})")]
    Unreachable(String),
    #[error("the language model refused the request ({0})")]
    Rejected(String),
    #[error("the language model sent an answer okta-agent could not read ({0})")]
    Malformed(String),
}

#[async_trait]
pub trait ModelClient: Send + Sync {
    async fn complete(
        &self,
        messages: &[ChatMessage],
        tools: &[Value],
    ) -> Result<ModelReply, ModelError>;
}

pub use crate::llm::ModelSettings;

/// An OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp.
pub struct OpenAiModel {
    client: async_openai::Client<OpenAIConfig>,
    model: String,
}

impl OpenAiModel {
    pub fn new(settings: &ModelSettings, timeout: Duration) -> Result<Self, ModelError> {
        Ok(Self {
            client: settings
                .client(timeout)
                .map_err(|e| ModelError::Unreachable(e.to_string()))?,
            model: settings.model.clone(),
        })
    }
}

/// The chat-completions request body for a conversation and tool list.
pub fn request_body(model: &str, messages: &[ChatMessage], tools: &[Value]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| match m {
            ChatMessage::System(text) => json!({"role": "system", "content": text}),
            ChatMessage::User(text) => json!({"role": "user", "content": text}),
            ChatMessage::Assistant {
                content,
                tool_calls,
            } => {
                let mut message = json!({"role": "assistant", "content": content});
                if !tool_calls.is_empty() {
                    message["tool_calls"] = tool_calls
                        .iter()
                        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                        .collect();
                }
                message
            }
            ChatMessage::Tool { call_id, content } => {
                json!({"role": "tool", "tool_call_id": call_id, "content": content})
            }
        })
        .collect();
    json!({
        "model": model,
        "messages": messages,
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "temperature": 0,
    })
}

#[async_trait]
impl ModelClient for OpenAiModel {
    async fn complete(
        &self,
        messages: &[ChatMessage],
        tools: &[Value],
    ) -> Result<ModelReply, ModelError> {
        let request: CreateChatCompletionRequest =
            serde_json::from_value(request_body(&self.model, messages, tools))
                .map_err(|e| ModelError::Malformed(format!("building the request: {e}")))?;
        let metrics = crate::metrics::metrics();
        let response = self.client.chat().create(request).await.map_err(|e| {
            use async_openai::error::OpenAIError;
            metrics
                .model_calls
                .get_or_create(&crate::metrics::label("result", "error"))
                .inc();
            match e {
                OpenAIError::ApiError(api) => ModelError::Rejected(api.to_string()),
                OpenAIError::JSONDeserialize(e, _) => ModelError::Malformed(e.to_string()),
                other => ModelError::Unreachable(other.to_string()),
            }
        })?;
        metrics
            .model_calls
            .get_or_create(&crate::metrics::label("result", "ok"))
            .inc();
        if let Some(usage) = &response.usage {
            metrics
                .model_tokens
                .get_or_create(&crate::metrics::label("kind", "prompt"))
                .inc_by(u64::from(usage.prompt_tokens));
            metrics
                .model_tokens
                .get_or_create(&crate::metrics::label("kind", "completion"))
                .inc_by(u64::from(usage.completion_tokens));
        }
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ModelError::Malformed("no choices in the answer".into()))?;
        let calls: Vec<ToolCallRequest> = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .filter_map(|call| match call {
                ChatCompletionMessageToolCalls::Function(f) => Some(ToolCallRequest {
                    id: f.id,
                    name: f.function.name,
                    arguments: f.function.arguments,
                }),
                ChatCompletionMessageToolCalls::Custom(_) => None,
            })
            .collect();
        if !calls.is_empty() {
            return Ok(ModelReply::ToolCalls(calls));
        }
        Ok(ModelReply::Text(choice.message.content.unwrap_or_default()))
    }
}

/// One scripted step.
#[derive(Clone, Debug)]
pub enum Scripted {
    Reply(ModelReply),
    Fail(ModelError),
    /// Never answers (to exercise the turn timeout).
    Stall,
}

/// A model that plays back a script and records every request; for tests and benchmarks.
#[derive(Default)]
pub struct ScriptedModel {
    script: Mutex<VecDeque<Scripted>>,
    /// When the script runs out, repeat this step forever (an adversarial model).
    repeat: Option<Scripted>,
    requests: Mutex<Vec<Vec<ChatMessage>>>,
}

impl ScriptedModel {
    pub fn new(steps: impl IntoIterator<Item = Scripted>) -> Self {
        Self {
            script: Mutex::new(steps.into_iter().collect()),
            ..Self::default()
        }
    }

    /// A model that answers every request with `step`.
    pub fn always(step: Scripted) -> Self {
        Self {
            repeat: Some(step),
            ..Self::default()
        }
    }

    /// Every conversation the model was sent, in order.
    pub fn requests(&self) -> Vec<Vec<ChatMessage>> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn call(name: &str, arguments: Value) -> Scripted {
        Scripted::Reply(ModelReply::ToolCalls(vec![ToolCallRequest {
            id: format!("call_{}", uuid::Uuid::new_v4().simple()),
            name: name.into(),
            arguments: arguments.to_string(),
        }]))
    }

    pub fn text(text: &str) -> Scripted {
        Scripted::Reply(ModelReply::Text(text.into()))
    }
}

#[async_trait]
impl ModelClient for ScriptedModel {
    async fn complete(
        &self,
        messages: &[ChatMessage],
        _tools: &[Value],
    ) -> Result<ModelReply, ModelError> {
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(messages.to_vec());
        }
        let step = self
            .script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .or_else(|| self.repeat.clone());
        match step {
            Some(Scripted::Reply(reply)) => Ok(reply),
            Some(Scripted::Fail(e)) => Err(e),
            Some(Scripted::Stall) => std::future::pending().await,
            None => Err(ModelError::Unreachable(
                "the script has no more steps".into(),
            )),
        }
    }
}
