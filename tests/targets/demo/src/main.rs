use std::time::Duration;

async fn bar() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

async fn baz() {}

async fn sleep() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

async fn foo() {
    let bar = bar();
    let baz = baz();
    sleep().await;
    let joined = futures::future::join(bar, baz);
    joined.await;
}

#[tokio::main]
async fn main() {
    let h = tokio::spawn(foo());
    println!("READY {}", std::process::id());
    h.await.unwrap();
}
