/* true: exit 0, and nothing else; what spawn benchmarks start. */
int main(void)
{
	return 0;
}
