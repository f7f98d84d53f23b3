//! The page's components, one per file. Each takes `XxxProps`, shows them, and emits what the user
//! does through `on_<verb>` callbacks; `App` owns the state.

mod add_form;
mod connection_badge;
mod draft_card;
mod order_detail;
mod orders_table;
mod process_input;
mod process_panel;
mod search_box;
mod shipments;
mod text_field;
mod transport_switch;
mod update_draft;
mod write_token_badge;
mod write_token_form;

pub(crate) use add_form::AddForm;
pub(crate) use connection_badge::ConnectionBadge;
pub(crate) use order_detail::OrderDetail;
pub(crate) use orders_table::OrdersTable;
pub(crate) use process_panel::ProcessPanel;
pub(crate) use search_box::SearchBox;
pub(crate) use update_draft::UpdateDraft;
pub(crate) use write_token_badge::WriteTokenBadge;
pub(crate) use write_token_form::WriteTokenForm;
