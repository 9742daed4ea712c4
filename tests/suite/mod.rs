mod cli;
mod okta_faithfulness;
mod okta_lifecycle;
mod okta_limits;
mod okta_token;
