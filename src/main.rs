fn main() {
    println!("wpstack");
}
