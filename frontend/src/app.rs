//! `App`: owns the state, starts the tasks the components ask for, and lays the panels out.

use yew::prelude::*;

use crate::components::{
    AddForm, ConnectionBadge, OrderDetail, OrdersTable, ProcessPanel, SearchBox, UpdateDraft, WriteTokenBadge,
    WriteTokenForm,
};
use crate::draft::Draft;
use crate::parse::{OrderField, OrderText};
use crate::services::{Api, Credentials, page_query};
use crate::state::{AddAction, DetailAction, DraftEdit, OrdersAction, ProcessAction, State, TokenAction, UpdateAction};

/// Order ids offered as chips beside the processing input.
const PROCESS_CHIPS: usize = 12;
use crate::tasks::Tasks;

#[component]
pub(crate) fn App() -> Html {
    let state = use_reducer(|| State::for_page(&page_query()));
    let tasks = {
        let dispatcher = state.dispatcher();
        use_memo((), move |_| Tasks::new(Api::for_page(), Credentials::default(), dispatcher))
    };

    // The first load (and whether the tab kept a write token), then a reload whenever the server comes back.
    {
        let tasks = tasks.clone();
        use_effect_with((), move |_| {
            tasks.check_token();
            tasks.search(String::new());
        });
    }
    {
        let tasks = tasks.clone();
        use_effect_with(state.connection.recoveries, move |recoveries| {
            if *recoveries > 0 {
                tasks.refresh();
            }
        });
    }
    // While the server is lost, retry it every few seconds; the retries end with this effect.
    {
        let tasks = tasks.clone();
        use_effect_with(state.connection.connection.is_down(), move |down| {
            let watch = down.then(|| tasks.watch_connection());
            move || drop(watch)
        });
    }

    let with_tasks = |run: fn(&Tasks, String)| {
        let tasks = tasks.clone();
        Callback::from(move |value: String| run(&tasks, value))
    };
    let on_search_type = with_tasks(Tasks::search_soon);
    let on_search = with_tasks(Tasks::search);
    let on_select = with_tasks(Tasks::show);
    // Sessions and multi-order updates take the transport chosen when they start.
    let transport = state.process.choice.next();
    let on_process_send = {
        let tasks = tasks.clone();
        Callback::from(move |id: String| tasks.process(id, transport))
    };
    let dispatcher = state.dispatcher();
    let on_edit = dispatcher.to_callback().reform(|order| UpdateAction::Edit(order).into());
    let on_close_detail = dispatcher.to_callback().reform(|()| DetailAction::Closed.into());
    let on_add_change =
        dispatcher.to_callback().reform(|(field, value): (OrderField, String)| AddAction::Field(field, value).into());
    let on_draft_change = dispatcher.to_callback().reform(|edit: DraftEdit| UpdateAction::Field(edit).into());
    let on_page = dispatcher.to_callback().reform(|page: usize| OrdersAction::Page(page).into());
    let on_draft_remove = dispatcher.to_callback().reform(|id: String| UpdateAction::Remove(id).into());
    let on_add = {
        let tasks = tasks.clone();
        Callback::from(move |form: OrderText| tasks.add(form))
    };
    let on_update = {
        let tasks = tasks.clone();
        let shown = state.detail.id().map(str::to_string);
        Callback::from(move |drafts: Vec<Draft>| tasks.update(drafts, shown.clone(), transport))
    };
    let on_finish = {
        let tasks = tasks.clone();
        Callback::from(move |()| tasks.finish())
    };
    let on_stop = {
        let tasks = tasks.clone();
        Callback::from(move |()| tasks.stop())
    };
    let on_token_save = {
        let tasks = tasks.clone();
        let waiting = state.token.waiting();
        Callback::from(move |typed: String| tasks.save_token(&typed, waiting.clone()))
    };
    let on_use_grpc_web = dispatcher.to_callback().reform(|on: bool| ProcessAction::UseGrpcWeb(on).into());
    let on_token_cancel = dispatcher.to_callback().reform(|()| TokenAction::Cancelled.into());
    let on_token_forget = {
        let tasks = tasks.clone();
        Callback::from(move |()| tasks.forget_token())
    };

    // The chips offer the first orders of the page shown, not every order listed.
    let listed: Vec<String> = state.orders.shown().take(PROCESS_CHIPS).map(|order| order.id.clone()).collect();
    let drafted: Vec<String> = state.update.drafts.iter().map(|draft| draft.id().to_string()).collect();
    html! {
        <>
            <header class="topbar">
                <div class="brand">
                    <h1>{ "Order management" }</h1>
                    <p class="muted small">{ "ecommerce.OrderManagement, from your browser" }</p>
                </div>
                <div class="topbar-side">
                    <WriteTokenBadge held={state.token.held} on_forget={on_token_forget} />
                    <ConnectionBadge connection={state.connection.connection} />
                </div>
            </header>
            <main class="layout">
                <div class="column main-column">
                    <section class="card orders-card" aria-labelledby="orders-title">
                        <div class="card-head">
                            <h2 id="orders-title">{ "Orders" }</h2>
                            <SearchBox on_type={on_search_type} on_search={on_search} />
                        </div>
                        <OrdersTable rows={state.orders.rows.clone()} page={state.orders.page} status={state.orders.status.clone()}
                            query={state.orders.query.clone()} selected={state.detail.id().map(|id| AttrValue::from(id.to_string()))}
                            drafted={drafted} on_select={on_select} on_edit={on_edit} on_page={on_page} />
                        <OrderDetail detail={state.detail.clone()} on_close={on_close_detail} />
                    </section>
                    <UpdateDraft drafts={state.update.drafts.clone()} status={state.update.status.clone()}
                        on_change={on_draft_change} on_remove={on_draft_remove} on_submit={on_update} />
                </div>
                <div class="column side-column">
                    <ProcessPanel process={state.process.clone()} chips={listed} on_send={on_process_send}
                        on_finish={on_finish} on_stop={on_stop} on_use_grpc_web={on_use_grpc_web} />
                    <AddForm form={state.add.form.clone()} status={state.add.status.clone()}
                        on_change={on_add_change} on_submit={on_add} />
                </div>
            </main>
            if let Some(prompt) = &state.token.prompt {
                <WriteTokenForm message={prompt.message.clone()} waiting={prompt.waiting_text()}
                    on_save={on_token_save} on_cancel={on_token_cancel} />
            }
        </>
    }
}
