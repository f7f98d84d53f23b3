//! updateOrders over native gRPC: a client stream, all or nothing.

mod common;

use common::spawn;
use ordermgt_proto::Order;
use tonic::Code;

fn changed(id: &str, items: &[&str]) -> Order {
    Order {
        id: id.into(),
        items: items.iter().map(|item| item.to_string()).collect(),
        description: "updated".into(),
        price: 99.5,
        destination: "Palo Alto, CA".into(),
    }
}

async fn stored(server: &common::TestServer, id: &str) -> Order {
    server.client().await.get_order(id.to_string()).await.expect("get").into_inner()
}

#[tokio::test]
async fn every_order_of_the_stream_is_replaced_and_the_reply_lists_them() {
    let server = spawn().await;
    let mut client = server.client().await;
    let updates = vec![
        changed("102", &["Google Pixel 3A", "Google Pixel Book"]),
        changed("103", &["Apple Watch S4", "Mac Book Pro", "iPad Pro"]),
        changed("104", &["Google Home Mini", "Google Nest Hub", "iPad Mini"]),
    ];
    let reply = client.update_orders(futures::stream::iter(updates.clone())).await.expect("update").into_inner();
    assert_eq!(reply, "Updated orders: 102, 103, 104");
    for update in updates {
        assert_eq!(stored(&server, &update.id).await, update);
    }
}

#[tokio::test]
async fn an_unknown_id_fails_the_update_naming_it_and_changes_nothing() {
    let server = spawn().await;
    let mut client = server.client().await;
    let before = stored(&server, "102").await;
    let updates = vec![changed("102", &["Changed"]), changed("999", &["Ghost"])];
    let status = client.update_orders(futures::stream::iter(updates)).await.expect_err("999 unknown");
    assert_eq!((status.code(), status.message()), (Code::NotFound, "order 999 not found"));
    assert_eq!(stored(&server, "102").await, before);
}

#[tokio::test]
async fn an_invalid_order_fails_the_update_naming_it_and_changes_nothing() {
    let server = spawn().await;
    let mut client = server.client().await;
    let before = stored(&server, "102").await;
    let updates = vec![changed("102", &["Changed"]), Order { price: -1.0, ..changed("103", &["Bad"]) }];
    let status = client.update_orders(futures::stream::iter(updates)).await.expect_err("103 invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("103") && status.message().contains("price"), "{}", status.message());
    assert_eq!(stored(&server, "102").await, before);
}

#[tokio::test]
async fn an_order_sent_twice_or_without_id_fails_the_update() {
    let server = spawn().await;
    let mut client = server.client().await;
    let twice = vec![changed("102", &["A"]), changed("102", &["B"])];
    let status = client.update_orders(futures::stream::iter(twice)).await.expect_err("twice");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "order 102 appears more than once in this update");
    let status = client.update_orders(futures::stream::iter(vec![changed("", &["A"])])).await.expect_err("no id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("id is required"), "{}", status.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_and_adds_each_succeed_or_fail_alone() {
    let server = spawn().await;
    let before = stored(&server, "103").await;
    // Sent together, so a store that commits writes in groups takes them in one.
    let calls = (0..16).map(|n| {
        let server = &server;
        async move {
            let mut client = server.client().await;
            match n % 4 {
                0 => client
                    .update_orders(futures::stream::iter([changed("102", &[&format!("Item {n}")])]))
                    .await
                    .map(drop),
                1 => {
                    let doomed = [changed("103", &["Never stored"]), changed(&format!("missing-{n}"), &["Nothing"])];
                    client.update_orders(futures::stream::iter(doomed)).await.map(drop)
                }
                2 => client.add_order(changed(&format!("new-{n}"), &["Fresh"])).await.map(drop),
                _ => client.add_order(changed("104", &["Taken"])).await.map(drop),
            }
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    for (n, outcome) in outcomes.iter().enumerate() {
        match n % 4 {
            0 | 2 => assert!(outcome.is_ok(), "call {n}: {outcome:?}"),
            1 => assert_eq!(outcome.as_ref().map_err(|status| status.code()), Err(Code::NotFound), "call {n}"),
            _ => assert_eq!(outcome.as_ref().map_err(|status| status.code()), Err(Code::AlreadyExists), "call {n}"),
        }
    }
    assert_eq!(stored(&server, "103").await, before, "the refused updates changed nothing");
    assert!(stored(&server, "102").await.items[0].starts_with("Item "));
    for n in (2..16).step_by(4) {
        assert_eq!(stored(&server, &format!("new-{n}")).await.items, ["Fresh"]);
    }
}
